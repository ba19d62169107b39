/* server_mix - what a request-serving program does: random sizes from 8 B
 * to 64 KiB (log-uniform), random lifetimes (three quarters of the
 * requests replace a block in a small table of short-lived ones, the rest
 * one in a large table of long-lived ones), and one block in eight handed
 * to the next thread, which frees it (the remote-free path).
 * -n is the operations per thread: throughput scales if the allocator does. */
#include "bench.h"

#define SHORT_SLOTS 64
#define LONG_SLOTS 2048
#define REMOTE_ONE_IN 8
#define DRAIN_EVERY 64

typedef struct shared_s {
  bench_ring_t *rings; /* rings[i]: pushed by thread i, popped by thread i+1 */
  _Atomic int finished;
} shared_t;

static uint64_t drain(bench_ring_t *in) {
  uint64_t check = 0;
  unsigned char *p;
  while ((p = bench_ring_pop(in)) != NULL) {
    check += p[0];
    free(p);
  }
  return check;
}

static void *run(void *arg) {
  bench_thread_t *t = arg;
  shared_t *sh = t->shared;
  bench_ring_t *out = &sh->rings[t->id];
  bench_ring_t *in = &sh->rings[(t->id + t->threads - 1) % t->threads];
  bench_rng_t r = bench_rng(2000 + (uint64_t)t->id);
  unsigned char *shorts[SHORT_SLOTS] = {0};
  unsigned char **longs = calloc(LONG_SLOTS, sizeof *longs);
  uint64_t check = 0;
  if (!longs) bench_die("calloc");
  for (long i = 0; i < t->size; i++) {
    unsigned char **slot = bench_below(&r, 4) != 0 ? &shorts[bench_below(&r, SHORT_SLOTS)]
                                                    : &longs[bench_below(&r, LONG_SLOTS)];
    if (*slot) {
      check += (*slot)[0];
      if (bench_below(&r, REMOTE_ONE_IN) != 0 || !bench_ring_push(out, *slot)) free(*slot);
    }
    size_t n = bench_size(&r, 8, 65536);
    *slot = bench_xmalloc(n);
    memset(*slot, (int)(i & 0xff), n < 64 ? n : 64);
    if (i % DRAIN_EVERY == 0) check += drain(in);
  }
  for (int k = 0; k < SHORT_SLOTS; k++) free(shorts[k]);
  for (int k = 0; k < LONG_SLOTS; k++) free(longs[k]);
  free(longs);
  /* Nobody pushes after it counted itself finished: drain until all have. */
  atomic_fetch_add(&sh->finished, 1);
  while (atomic_load(&sh->finished) < t->threads) {
    check += drain(in);
    sched_yield();
  }
  check += drain(in);
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "server_mix", 2, 3000000, "operations per thread");
  shared_t sh = {0};
  sh.rings = aligned_alloc(64, sizeof(bench_ring_t) * (size_t)a.threads);
  if (!sh.rings) bench_die("aligned_alloc");
  memset(sh.rings, 0, sizeof(bench_ring_t) * (size_t)a.threads);
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, &sh, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
  free(sh.rings);
  return 0;
}
