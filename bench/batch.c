/* batch - 100 mallocs then 100 frees of one size, over and over: the
 * batches of large tiers of issue 13 (tcmalloc's per-size arrays against
 * free lists threaded through the blocks). The size is fixed at build time
 * (-DBATCH_SIZE=65536 gives batch_64k, 4096 batch_4k); the blocks are not
 * written, so what is timed is the allocator's own touching of them.
 * -n is the malloc+free pairs per thread. */
#include "bench.h"

#ifndef BATCH_SIZE
#define BATCH_SIZE 65536
#endif
#define BATCH 100

/* Called through a volatile pointer so that no malloc/free pair is elided. */
static void *(*volatile alloc)(size_t) = malloc;
static void (*volatile release)(void *) = free;

static void *run(void *arg) {
  bench_thread_t *t = arg;
  void *p[BATCH];
  uint64_t check = 0;
  long pairs = 0;
  while (pairs < t->size) {
    int k = t->size - pairs < BATCH ? (int)(t->size - pairs) : BATCH;
    for (int i = 0; i < k; i++) {
      p[i] = alloc(BATCH_SIZE);
      if (!p[i]) bench_die("malloc");
      check += (uintptr_t)p[i] >> 12 & 0xff;
    }
    for (int i = 0; i < k; i++) release(p[i]);
    pairs += k;
  }
  t->ops = (uint64_t)pairs;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  char name[32];
  snprintf(name, sizeof name, "batch_%dk", BATCH_SIZE / 1024);
  bench_args_t a = bench_parse(argc, argv, name, 1, 50000000, "malloc+free pairs per thread");
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, NULL, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
  return 0;
}
