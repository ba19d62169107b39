/* rlimit_as - a program that lowers its own address-space limit, as
 * glibc's tst-malloc-thread-fail does, then keeps working under it.
 *
 * After start it sets RLIMIT_AS to 1 GiB (below what a reserving
 * allocator may have mapped already), starts its threads (each needs a
 * stack under the limit), and each thread allocates 16 B to 1 MiB blocks,
 * up to 256 live, with a 4 MiB block every 64th request and a request of
 * 2 GiB every 1024th, which must fail with ENOMEM. A failed request of
 * another size frees half of the thread's blocks, as a program that
 * recovers from ENOMEM would. Exits 1 when a thread cannot start, a
 * request past the limit succeeds, or a failure leaves errno unset.
 * -n is the requests per thread. Prints enomem=, the failed small requests. */
#include <sys/resource.h>

#include "bench.h"

#define LIVE 256
#define LIMIT ((rlim_t)1 << 30)

static _Atomic uint64_t tp_enomem;

static void *run(void *arg) {
  bench_thread_t *t = arg;
  bench_rng_t r = bench_rng(9000 + (uint64_t)t->id);
  unsigned char *p[LIVE] = {0};
  uint64_t check = 0;
  for (long i = 0; i < t->size; i++) {
    if (i % 1024 == 1023) {
      errno = 0;
      void *huge = malloc((size_t)2 << 30);
      if (huge || errno != ENOMEM) {
        fprintf(stderr, "rlimit_as: malloc(2 GiB) under a 1 GiB limit: %p, errno %d\n", huge,
                errno);
        exit(1);
      }
    }
    int k = (int)bench_below(&r, LIVE);
    free(p[k]);
    size_t n = i % 64 == 63 ? (size_t)4 << 20 : bench_size(&r, 16, 1 << 20);
    errno = 0;
    p[k] = malloc(n);
    if (!p[k]) {
      if (errno != ENOMEM) bench_die("malloc failed without ENOMEM");
      atomic_fetch_add(&tp_enomem, 1);
      for (int j = 0; j < LIVE; j += 2) free(p[j]), p[j] = NULL;
      continue;
    }
    check += bench_touch(p[k], n, (unsigned)i);
  }
  for (int k = 0; k < LIVE; k++) free(p[k]);
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "rlimit_as", 4, 200000, "requests per thread");
  struct rlimit rl = {LIMIT, LIMIT};
  if (setrlimit(RLIMIT_AS, &rl) != 0) bench_die("setrlimit");
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, NULL, run, &ops, &check);
  char extra[64];
  snprintf(extra, sizeof extra, "enomem=%llu", (unsigned long long)atomic_load(&tp_enomem));
  bench_report(&a, bench_now() - t0, ops, check, extra);
  return 0;
}
