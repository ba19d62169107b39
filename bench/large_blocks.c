/* large_blocks - blocks past the largest tier (1 MiB by default), which
 * tierpool forwards to mimalloc: 1 MiB + 1 to 16 MiB, 8 live per thread,
 * one byte written per page as a program that fills them would.
 * -n is the allocations per thread. */
#include "bench.h"

#define LIVE 8

static void *run(void *arg) {
  bench_thread_t *t = arg;
  bench_rng_t r = bench_rng(7000 + (uint64_t)t->id);
  unsigned char *p[LIVE] = {0};
  size_t len[LIVE] = {0};
  uint64_t check = 0;
  for (long i = 0; i < t->size; i++) {
    int k = (int)bench_below(&r, LIVE);
    if (p[k]) check += p[k][0] + p[k][len[k] - 1];
    free(p[k]);
    len[k] = bench_size(&r, (1 << 20) + 1, 16 << 20);
    p[k] = bench_xmalloc(len[k]);
    check += bench_touch(p[k], len[k], (unsigned)i);
  }
  for (int k = 0; k < LIVE; k++) free(p[k]);
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "large_blocks", 1, 2500, "allocations per thread");
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, NULL, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
  return 0;
}
