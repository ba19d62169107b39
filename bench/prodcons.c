/* prodcons - the cross-thread path alone: in each pair of threads one
 * allocates blocks of 16 B to 1 KiB and writes them, the other reads and
 * frees them. -t is rounded down to pairs (at least one); -n is the blocks
 * per pair. */
#include "bench.h"

typedef struct shared_s {
  bench_ring_t *rings; /* rings[pair] */
} shared_t;

static void *run(void *arg) {
  bench_thread_t *t = arg;
  shared_t *sh = t->shared;
  bench_ring_t *q = &sh->rings[t->id / 2];
  uint64_t check = 0;
  if (t->id % 2 == 0) { /* producer */
    bench_rng_t r = bench_rng(3000 + (uint64_t)t->id);
    for (long i = 0; i < t->size; i++) {
      size_t n = bench_size(&r, 16, 1024);
      unsigned char *p = bench_xmalloc(n);
      p[0] = (unsigned char)i;
      p[n - 1] = (unsigned char)n;
      while (!bench_ring_push(q, p)) sched_yield();
    }
  } else { /* consumer */
    for (long i = 0; i < t->size; i++) {
      unsigned char *p;
      while ((p = bench_ring_pop(q)) == NULL) sched_yield();
      check += p[0];
      free(p);
    }
  }
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "prodcons", 2, 5000000, "blocks per pair");
  int threads = a.threads < 2 ? 2 : a.threads / 2 * 2;
  shared_t sh;
  sh.rings = aligned_alloc(64, sizeof(bench_ring_t) * (size_t)(threads / 2));
  if (!sh.rings) bench_die("aligned_alloc");
  memset(sh.rings, 0, sizeof(bench_ring_t) * (size_t)(threads / 2));
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(threads, a.size, &sh, run, &ops, &check);
  a.threads = threads;
  bench_report(&a, bench_now() - t0, ops / 2, check, NULL);
  free(sh.rings);
  return 0;
}
