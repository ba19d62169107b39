/* pool_loop - the loop that motivates pooling: 50 live buffers, each
 * replaced in turn by a new one of 10 bytes or, one time in ten, 256 KiB.
 * Each thread runs its own loop; -n is the replacements per thread. */
#include "bench.h"

#define LIVE 50
#define SMALL 10
#define BIG (256 * 1024)

static void *run(void *arg) {
  bench_thread_t *t = arg;
  bench_rng_t r = bench_rng(1000 + (uint64_t)t->id);
  unsigned char *buf[LIVE] = {0};
  size_t len[LIVE] = {0};
  uint64_t check = 0;
  for (long i = 0; i < t->size; i++) {
    int k = (int)(i % LIVE);
    if (buf[k]) check += buf[k][0] + buf[k][len[k] - 1];
    free(buf[k]);
    len[k] = bench_below(&r, 10) == 0 ? BIG : SMALL;
    buf[k] = bench_xmalloc(len[k]);
    buf[k][0] = (unsigned char)i;
    buf[k][len[k] - 1] = (unsigned char)k;
  }
  for (int k = 0; k < LIVE; k++) free(buf[k]);
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "pool_loop", 1, 10000000, "replacements per thread");
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, NULL, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
  return 0;
}
