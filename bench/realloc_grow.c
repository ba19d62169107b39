/* realloc_grow - growth by realloc, as string builders and vectors do.
 * Each thread keeps 8 builders and 4 vectors growing side by side (so a
 * block can not always grow in place): a builder appends 1 to 64 bytes
 * per realloc up to a random length of 256 B to 64 KiB, a vector doubles
 * its capacity up to 4 KiB to 4 MiB; full ones are freed and start over.
 * -n is the reallocs per thread. */
#include "bench.h"

#define BUILDERS 8
#define VECTORS 4

typedef struct grow_s {
  unsigned char *p;
  size_t len, cap, target;
} grow_t;

static void *run(void *arg) {
  bench_thread_t *t = arg;
  bench_rng_t r = bench_rng(5000 + (uint64_t)t->id);
  grow_t g[BUILDERS + VECTORS] = {{0}};
  uint64_t check = 0;
  for (long i = 0; i < t->size; i++) {
    int k = (int)bench_below(&r, BUILDERS + VECTORS);
    grow_t *b = &g[k];
    if (b->len >= b->target) { /* done: use it, drop it, start again */
      if (b->p) check += b->p[0] + b->p[b->len - 1];
      free(b->p);
      b->p = NULL;
      b->len = b->cap = 0;
      b->target = k < BUILDERS ? bench_size(&r, 256, 65536) : bench_size(&r, 4096, 4 << 20);
    }
    size_t add = k < BUILDERS ? 1 + bench_below(&r, 64) : (b->cap ? b->cap : 16);
    size_t cap = b->len + add;
    unsigned char *p = realloc(b->p, cap);
    if (!p) bench_die("realloc");
    if (b->len && p[b->len - 1] != (unsigned char)(b->len - 1)) {
      fprintf(stderr, "realloc_grow: realloc lost the contents\n");
      exit(1);
    }
    /* a builder writes what it appends; a vector writes one byte per page */
    if (k < BUILDERS)
      for (size_t j = b->len; j < cap; j++) p[j] = (unsigned char)j;
    else
      for (size_t j = b->len; j < cap; j += 4096) p[j] = (unsigned char)j;
    p[cap - 1] = (unsigned char)(cap - 1);
    b->p = p;
    b->len = b->cap = cap;
  }
  for (int k = 0; k < BUILDERS + VECTORS; k++) free(g[k].p);
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "realloc_grow", 1, 2000000, "reallocs per thread");
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, NULL, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
  return 0;
}
