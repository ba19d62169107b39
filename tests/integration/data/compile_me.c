/* compile_me.c - the C file the gcc case compiles, links and runs.
 * Deterministic: prints the same lines for the same argument. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  char *key;
  unsigned count;
  struct entry *next;
};

static uint64_t state = 88172645463325252ull;

static uint64_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static unsigned hash(const char *s) {
  unsigned h = 2166136261u;
  while (*s)
    h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static unsigned primes_below(unsigned n) {
  char *sieve = calloc(n, 1);
  unsigned count = 0;
  for (unsigned i = 2; i < n; i++) {
    if (sieve[i])
      continue;
    count++;
    for (unsigned long j = (unsigned long)i * i; j < n; j += i)
      sieve[j] = 1;
  }
  free(sieve);
  return count;
}

static unsigned long words(unsigned n, unsigned *distinct) {
  enum { NB = 4096 };
  struct entry **table = calloc(NB, sizeof *table);
  unsigned long total = 0;
  *distinct = 0;
  for (unsigned i = 0; i < n; i++) {
    char buf[16];
    int len = 1 + (int)(rnd() % 5);
    for (int j = 0; j < len; j++)
      buf[j] = (char)('a' + rnd() % 6);
    buf[len] = 0;
    struct entry **e = &table[hash(buf) % NB];
    while (*e && strcmp((*e)->key, buf) != 0)
      e = &(*e)->next;
    if (!*e) {
      *e = calloc(1, sizeof **e);
      (*e)->key = strdup(buf);
      ++*distinct;
    }
    total += ++(*e)->count;
  }
  for (unsigned i = 0; i < NB; i++)
    for (struct entry *e = table[i], *next; e; e = next) {
      next = e->next;
      free(e->key);
      free(e);
    }
  free(table);
  return total;
}

static double matrix(unsigned n) {
  double *a = malloc(n * n * sizeof *a), *b = malloc(n * n * sizeof *b), *c = calloc(n * n, sizeof *c);
  for (unsigned i = 0; i < n * n; i++) {
    a[i] = (double)(i % 7) - 3;
    b[i] = (double)(i % 5) * 0.5;
  }
  for (unsigned i = 0; i < n; i++)
    for (unsigned k = 0; k < n; k++)
      for (unsigned j = 0; j < n; j++)
        c[i * n + j] += a[i * n + k] * b[k * n + j];
  double trace = 0;
  for (unsigned i = 0; i < n; i++)
    trace += c[i * n + i];
  free(a);
  free(b);
  free(c);
  return trace;
}

static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
  unsigned scale = argc > 1 ? (unsigned)atoi(argv[1]) : 10;
  uint64_t *v = malloc(100000 * sizeof *v);
  for (unsigned i = 0; i < 100000; i++)
    v[i] = rnd() % 1000000;
  qsort(v, 100000, sizeof *v, cmp_u64);
  unsigned distinct;
  unsigned long total = words(scale * 10000, &distinct);
  printf("primes below %u: %u\n", scale * 100000, primes_below(scale * 100000));
  printf("median %llu, max %llu\n", (unsigned long long)v[50000], (unsigned long long)v[99999]);
  printf("words: %u distinct, total %lu\n", distinct, total);
  printf("trace %.1f\n", matrix(scale * 10));
  printf("fib(%u) = %lu\n", scale + 20, fib(scale + 20));
  free(v);
  return 0;
}
