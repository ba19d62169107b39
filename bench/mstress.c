/* mstress - the shape of mimalloc-bench's mstress (mimalloc's test-stress):
 * rounds of short-lived threads that allocate mixed sizes, mostly small
 * with a tail up to 1 MiB, keep a table of them, free at random, and hand
 * blocks to other threads through a shared transfer table that outlives
 * the rounds. Every block is calloc'ed, carries a cookie at both ends, and
 * is checked when it is freed, by whichever thread frees it.
 *
 * Sizes: 16 B to 1 KiB (uniform in words) for 99 requests in 100, 100 times
 * that (up to 100 KiB) for 0.9, and up to 1 MiB for 0.1. What it shows is
 * the memory an allocator keeps per thread: free blocks of large size
 * classes that one thread caches cannot serve another, so peak RSS grows
 * with the threads (issue 13, "memory kept").
 * -n is the rounds; each round starts -t threads and joins them. */
#include "bench.h"

#define LOCAL 4096           /* blocks one thread holds at most */
#define STEPS (LOCAL * 4)    /* operations per thread per round */
#define TRANSFER 4096        /* the shared table's slots */
#define MAX_BYTES ((size_t)1 << 20)

typedef struct shared_s {
  _Atomic(uint64_t *) transfer[TRANSFER];
  long round;
} shared_t;

/* A block of n bytes, n a multiple of 8 and at least 16: word 0 is n, the last word the
 * cookie n ^ the block's address. */
static uint64_t *make(size_t n) {
  uint64_t *p = calloc(n / 8, 8);
  if (!p) bench_die("calloc");
  p[0] = n;
  p[n / 8 - 1] = n ^ (uintptr_t)p;
  return p;
}

static uint64_t check_free(uint64_t *p) {
  if (!p) return 0;
  size_t n = p[0];
  if (n < 16 || n > MAX_BYTES || p[n / 8 - 1] != (n ^ (uintptr_t)p)) {
    fprintf(stderr, "mstress: block %p damaged\n", (void *)p);
    exit(1);
  }
  free(p);
  return n;
}

static size_t pick_size(bench_rng_t *r) {
  size_t words = 2 + (size_t)bench_below(r, 127); /* room for both words */
  uint64_t c = bench_below(r, 1000);
  if (c < 1) words *= 1000;
  else if (c < 10) words *= 100;
  size_t n = words * 8;
  return n > MAX_BYTES ? MAX_BYTES : n;
}

static void *run(void *arg) {
  bench_thread_t *t = arg;
  shared_t *sh = t->shared;
  bench_rng_t r = bench_rng(7000 + (uint64_t)sh->round * 1024 + (uint64_t)t->id);
  uint64_t *local[LOCAL] = {0};
  uint64_t check = 0;
  for (long i = 0; i < STEPS; i++) {
    int k = (int)bench_below(&r, LOCAL);
    if (local[k] && bench_below(&r, 8) == 0) {
      /* Hand it over; free what the slot held (another thread's, often). */
      int s = (int)bench_below(&r, TRANSFER);
      check += check_free(atomic_exchange(&sh->transfer[s], local[k]));
    } else {
      check += check_free(local[k]);
    }
    local[k] = bench_below(&r, 4) == 0 ? NULL : make(pick_size(&r));
  }
  for (int k = 0; k < LOCAL; k++) check += check_free(local[k]);
  t->ops = STEPS;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "mstress", 4, 40, "rounds of -t new threads");
  static shared_t sh;
  uint64_t ops = 0, check = 0;
  double t0 = bench_now();
  for (sh.round = 0; sh.round < a.size; sh.round++) {
    uint64_t o, c;
    bench_run_threads(a.threads, STEPS, &sh, run, &o, &c);
    ops += o;
    check += c;
  }
  for (int s = 0; s < TRANSFER; s++) check += check_free(atomic_load(&sh.transfer[s]));
  double secs = bench_now() - t0;
  char extra[64];
  snprintf(extra, sizeof extra, "hwm_kib=%ld", bench_status_kib("VmHWM"));
  bench_report(&a, secs, ops, check, extra);
  return 0;
}
