/* false_sharing - threads that allocate small blocks and write them hard.
 * If the allocator hands blocks on one cache line to different threads,
 * every write bounces the line between cores.
 *   active  (built without FS_PASSIVE): each thread allocates its own
 *           8-byte blocks, writes each REPS times, frees it;
 *   passive (built with FS_PASSIVE): the main thread allocates one 8-byte
 *           block per thread, back to back, and each thread frees the one
 *           it was given before doing the same loop, so an allocator that
 *           recycles that block to the freeing thread shares the line.
 * -n is the blocks per thread. */
#include "bench.h"

#define OBJ 8
#define REPS 100

#ifdef FS_PASSIVE
#define NAME "false_passive"
#else
#define NAME "false_active"
#endif

static void *run(void *arg) {
  bench_thread_t *t = arg;
  uint64_t check = 0;
#ifdef FS_PASSIVE
  free(((void **)t->shared)[t->id]);
#endif
  for (long i = 0; i < t->size; i++) {
    volatile unsigned char *p = bench_xmalloc(OBJ);
    for (int j = 0; j < REPS; j++)
      for (int k = 0; k < OBJ; k++) p[k] = (unsigned char)(p[k] + 1);
    check += p[0];
    free((void *)p);
  }
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, NAME, 2, 1500000, "blocks per thread");
  void **given = bench_xmalloc(sizeof(void *) * (size_t)a.threads);
  for (int i = 0; i < a.threads; i++) given[i] = bench_xmalloc(OBJ);
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, given, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
#ifndef FS_PASSIVE
  for (int i = 0; i < a.threads; i++) free(given[i]);
#endif
  free(given);
  return 0;
}
