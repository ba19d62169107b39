/* workloads.c - the programs behind bench/leaks/results.md: the same source
 * is run under tierpool (plain, TIERPOOL_LEAKS=all, =sample), heaptrack,
 * valgrind --leak-check=full and, built with clang -fsanitize=leak, under
 * LeakSanitizer.
 *
 *   workloads churn N     N random malloc/free of 16..1040 bytes, called
 *                         from 1 to 12 frames deep, 8192 live at a time
 *   workloads tree N      binary trees of depth N built and freed (the
 *                         classic binary-trees allocation pattern)
 *   workloads threads N   4 threads, each `churn N/4`
 *   workloads text N      a word-count of N generated lines: strdup'd words
 *                         in a hash table, a sort, formatted output; more
 *                         work per allocation, like many real programs
 *
 * Every workload leaks the same 16 blocks at the end, so every tool has a
 * (small) report to make. Deterministic: a fixed xorshift seed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

typedef struct { uint64_t s; } rng_t;
static uint64_t next(rng_t *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

/* ------------------------------------------------------------ churn */

/* Allocation at a varying depth, so stacks differ as in a real program. */
__attribute__((noinline)) static void *alloc_at(unsigned depth, size_t n) {
  if (depth == 0) return malloc(n);
  void *p = alloc_at(depth - 1, n);
  sink = &p; /* not a tail call */
  return p;
}

#define CHURN_SLOTS 8192

static void *churn(void *arg) {
  long n = (long)(intptr_t)arg;
  rng_t r = {0x9e3779b97f4a7c15ull ^ (uint64_t)n};
  void **slot = calloc(CHURN_SLOTS, sizeof *slot);
  for (long i = 0; i < n; i++) {
    uint64_t x = next(&r);
    unsigned k = (unsigned)(x % CHURN_SLOTS);
    free(slot[k]);
    slot[k] = alloc_at((unsigned)(x >> 20) % 12, 16 + (size_t)((x >> 32) % 1025));
    memset(slot[k], (int)i, 16);
  }
  for (unsigned k = 0; k < CHURN_SLOTS; k++) free(slot[k]);
  free(slot);
  return NULL;
}

/* ------------------------------------------------------------ tree */

typedef struct node_s { struct node_s *l, *r; long v; } node_t;

__attribute__((noinline)) static node_t *build(int d) {
  node_t *n = malloc(sizeof *n);
  n->v = d;
  n->l = d ? build(d - 1) : NULL;
  n->r = d ? build(d - 1) : NULL;
  return n;
}

static long check(const node_t *n) { return n->l ? 1 + check(n->l) + check(n->r) : 1; }

static void drop(node_t *n) {
  if (n->l) {
    drop(n->l);
    drop(n->r);
  }
  free(n);
}

static void trees(int depth) {
  node_t *longlived = build(depth);
  long sum = 0;
  for (int d = 4; d <= depth; d += 2) {
    long iters = 1L << (depth - d + 4);
    for (long i = 0; i < iters; i++) {
      node_t *t = build(d);
      sum += check(t);
      drop(t);
    }
  }
  sum += check(longlived);
  drop(longlived);
  printf("tree checksum %ld\n", sum);
}

/* ------------------------------------------------------------ text */

typedef struct entry_s { char *word; long count; struct entry_s *next; } entry_t;

static int by_count(const void *a, const void *b) {
  const entry_t *x = *(entry_t *const *)a, *y = *(entry_t *const *)b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->word, y->word);
}

static void text(long lines) {
  static const char *syll[] = {"ka", "to", "ri", "me", "sun", "lo", "ve", "na", "qu", "ex"};
  enum { BUCKETS = 1 << 14 };
  entry_t **tab = calloc(BUCKETS, sizeof *tab);
  rng_t r = {88172645463325252ull};
  long distinct = 0;
  for (long l = 0; l < lines; l++) {
    char *line = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&line, &cap);
    int words = 4 + (int)(next(&r) % 8);
    for (int w = 0; w < words; w++) {
      int s = 1 + (int)(next(&r) % 3);
      for (int k = 0; k < s; k++) fputs(syll[next(&r) % 10], f);
      fputc(' ', f);
    }
    fclose(f);
    for (char *save, *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
      uint64_t h = 1469598103934665603ull;
      for (const char *c = tok; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
      entry_t **e = &tab[h & (BUCKETS - 1)];
      while (*e && strcmp((*e)->word, tok)) e = &(*e)->next;
      if (!*e) {
        *e = calloc(1, sizeof **e);
        (*e)->word = strdup(tok);
        distinct++;
      }
      (*e)->count++;
    }
    free(line);
  }
  entry_t **all = malloc((size_t)distinct * sizeof *all);
  long k = 0;
  for (int b = 0; b < BUCKETS; b++)
    for (entry_t *e = tab[b]; e; e = e->next) all[k++] = e;
  qsort(all, (size_t)k, sizeof *all, by_count);
  char *out;
  if (asprintf(&out, "%ld distinct words, most frequent %s (%ld)", distinct, all[0]->word,
               all[0]->count) >= 0) {
    puts(out);
    free(out);
  }
  for (long i = 0; i < k; i++) {
    free(all[i]->word);
    free(all[i]);
  }
  free(all);
  free(tab);
}

/* ------------------------------------------------------------ main */

__attribute__((noinline)) static void leak_some(void) {
  for (int i = 0; i < 16; i++) sink = malloc(48);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: workloads churn|tree|threads|text N\n");
    return 2;
  }
  long n = atol(argv[2]);
  if (!strcmp(argv[1], "churn")) {
    churn((void *)(intptr_t)n);
  } else if (!strcmp(argv[1], "tree")) {
    trees((int)n);
  } else if (!strcmp(argv[1], "threads")) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, (void *)(intptr_t)(n / 4 + i));
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  } else if (!strcmp(argv[1], "text")) {
    text(n);
  } else {
    fprintf(stderr, "workloads: unknown workload %s\n", argv[1]);
    return 2;
  }
  leak_some();
  return 0;
}
