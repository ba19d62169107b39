/* pools_driver.c - the pooling library's concurrent scenarios as a plain
 * program (no Criterion), so they also run under ThreadSanitizer. Links the
 * engine and pools/ objects directly. Exits non-zero on the first failure.
 *
 *   pools_driver swap PCT SECONDS [transfer]   readers on every core, PCT% of
 *       operations are updates; each object is poisoned on its way back to
 *       the pool and a reader that ever sees poison (or a torn object)
 *       fails. "transfer" lowers the count-transfer threshold to exercise it.
 *   pools_driver bounded SECONDS   acquire / try / timed / cancelled, each
 *       object owned by one thread at a time
 *   pools_driver buffers SECONDS   buffers retained and released across threads
 *   pools_driver objpool SECONDS   objects shared by threads, owned by one at a time
 *   pools_driver slab SECONDS      slots allocated and freed by several threads
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tierpool_pools.h"
#include "tp_test.h"

extern uint64_t tp_swap_transfer_at_for_test;

static double seconds = 2;
static _Atomic int stop;
static int nthreads;

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static void run_threads(void *(*fn)(void *)) {
  pthread_t t[64];
  atomic_store(&stop, 0);
  for (long i = 0; i < nthreads; i++) CHECK(pthread_create(&t[i], NULL, fn, (void *)(i + 1)) == 0);
  struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&ts, NULL);
  atomic_store(&stop, 1);
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------ swap */

#define WORDS 512
#define POISON 0xdeadbeefdeadbeefull
typedef struct { uint64_t version; uint64_t w[WORDS]; } table_t;

static tierpool_swap_t *sw;
static int write_pct;
static _Atomic uint64_t next_version = 1, reads, writes;

static void poison(void *o, void *arg) {
  (void)arg;
  uint64_t *w = o;
  for (size_t i = 0; i < sizeof(table_t) / 8; i++) w[i] = POISON;
}

static void verify(const table_t *t) {
  CHECK(t->version != POISON); /* a recycled object reached a reader */
  for (size_t i = 0; i < WORDS; i += 37) CHECK(t->w[i] == t->version * 1000003 + i);
  CHECK(t->w[WORDS - 1] == t->version * 1000003 + WORDS - 1);
}

static void *swap_worker(void *arg) {
  uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull, n = 0, nw = 0;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    if (xorshift(&seed) % 100 < (uint64_t)write_pct) {
      table_t *t = tierpool_swap_write_begin(sw);
      CHECK(t);
      uint64_t v = atomic_fetch_add(&next_version, 1);
      for (size_t i = 0; i < WORDS; i++) t->w[i] = v * 1000003 + i;
      t->version = v;
      tierpool_swap_commit(sw, t);
      nw++;
    } else {
      const table_t *a = tierpool_swap_acquire(sw);
      verify(a);
      if (seed & 1) { /* two reads held at once, across a possible swap */
        const table_t *b = tierpool_swap_acquire(sw);
        verify(b);
        sched_yield();
        verify(a);
        tierpool_swap_release(sw, b);
      }
      verify(a);
      tierpool_swap_release(sw, a);
      n++;
    }
  }
  atomic_fetch_add(&reads, n);
  atomic_fetch_add(&writes, nw);
  return NULL;
}

static void init_table(table_t *t, uint64_t v) {
  for (size_t i = 0; i < WORDS; i++) t->w[i] = v * 1000003 + i;
  t->version = v;
}
static int swap_init(void *o, void *arg) {
  (void)arg;
  init_table(o, 0);
  return 0;
}

static int run_swap(int pct, bool transfer) {
  write_pct = pct;
  if (transfer) tp_swap_transfer_at_for_test = 64;
  tierpool_swap_opts_t o = {.name = "stress", .size = sizeof(table_t), .max_objects = 16,
                            .init = swap_init, .recycle = poison};
  CHECK(tierpool_swap_create(&sw, &o) == 0);
  run_threads(swap_worker);
  tierpool_pool_stats_t st;
  tierpool_swap_stats(sw, &st);
  CHECK(st.swaps == atomic_load(&writes));
  CHECK(tierpool_swap_destroy(sw) == 0); /* every reader released */
  printf("swap %d%% writes%s: %llu reads, %llu swaps, %llu objects made, readers at peak %llu\n",
         pct, transfer ? " (transfer)" : "", (unsigned long long)reads,
         (unsigned long long)st.swaps, (unsigned long long)st.created,
         (unsigned long long)st.readers_peak);
  return 0;
}

/* ------------------------------------------------------------ bounded */

#define BOUNDED_N 3
static tierpool_bounded_t *bp;
static tierpool_cancel_t tokens[64];

typedef struct { _Atomic int owner; } slot_t;

static void own(slot_t *s, int me) {
  int free_ = 0;
  CHECK(atomic_compare_exchange_strong(&s->owner, &free_, me)); /* nobody else holds it */
}
static void disown(slot_t *s, int me) { CHECK(atomic_exchange(&s->owner, 0) == me); }

static void *bounded_worker(void *arg) {
  int me = (int)(uintptr_t)arg;
  uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    void *o = NULL;
    int rc;
    switch (xorshift(&seed) % 4) {
    case 0: rc = tierpool_bounded_try_acquire(bp, &o); CHECK(rc == 0 || rc == EAGAIN); break;
    case 1: {
      struct timespec d;
      clock_gettime(CLOCK_MONOTONIC, &d);
      d.tv_nsec += 200000;
      if (d.tv_nsec >= 1000000000) d.tv_sec++, d.tv_nsec -= 1000000000;
      rc = tierpool_bounded_acquire(bp, &o, &d, NULL);
      CHECK(rc == 0 || rc == ETIMEDOUT);
      break;
    }
    case 2:
      tierpool_cancel_reset(&tokens[me]);
      rc = tierpool_bounded_acquire(bp, &o, NULL, &tokens[me]);
      CHECK(rc == 0 || rc == ECANCELED);
      break;
    default: rc = tierpool_bounded_acquire(bp, &o, NULL, NULL); CHECK(rc == 0); break;
    }
    /* cancel someone else's wait now and then */
    if (xorshift(&seed) % 8 == 0) tierpool_bounded_cancel(bp, &tokens[1 + xorshift(&seed) % nthreads]);
    if (rc) continue;
    own(o, me);
    for (volatile int i = 0; i < 50; i++) {}
    disown(o, me);
    tierpool_bounded_release(bp, o);
  }
  return NULL;
}

/* Wakes waiters that nobody cancels any more once the workers stop. */
static int run_bounded(void) {
  tierpool_bounded_opts_t o = {.name = "stress", .count = BOUNDED_N, .size = sizeof(slot_t)};
  CHECK(tierpool_bounded_create(&bp, &o) == 0);
  run_threads(bounded_worker);
  tierpool_pool_stats_t st;
  tierpool_bounded_stats(bp, &st);
  CHECK(st.in_use == 0 && st.gets == st.puts && st.peak <= BOUNDED_N);
  CHECK(tierpool_bounded_destroy(bp) == 0);
  printf("bounded: %llu gets, %llu waits, %llu timeouts, %llu cancellations, peak %llu\n",
         (unsigned long long)st.gets, (unsigned long long)st.waits, (unsigned long long)st.timeouts,
         (unsigned long long)st.cancellations, (unsigned long long)st.peak);
  return 0;
}

/* ------------------------------------------------------------ buffers */

static _Atomic(unsigned char *) mailbox[16];

static void *buffers_worker(void *arg) {
  uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    size_t n = 1 + xorshift(&seed) % ((seed & 7) ? 3000 : 300000);
    size_t cap;
    unsigned char *p = tierpool_buf_get(n, &cap);
    CHECK(p && cap >= n);
    memset(p, (int)(n & 0xff), n);
    p[0] = (unsigned char)(n & 0xff);
    /* share with whoever takes the mailbox slot, keep our own reference */
    tierpool_buf_retain(p);
    unsigned char *q = atomic_exchange(&mailbox[xorshift(&seed) % 16], p);
    if (q) {
      size_t cq = tierpool_buf_cap(q);
      CHECK(cq >= 16);
      tierpool_buf_release(q);
    }
    CHECK(p[0] == (unsigned char)(n & 0xff) && p[n - 1] == (unsigned char)(n & 0xff));
    tierpool_buf_release(p);
  }
  return NULL;
}

static int run_buffers(void) {
  tierpool_pool_stats_t a, b;
  tierpool_buf_stats(&a);
  run_threads(buffers_worker);
  for (int i = 0; i < 16; i++) {
    unsigned char *q = atomic_exchange(&mailbox[i], NULL);
    if (q) tierpool_buf_release(q);
  }
  tierpool_buf_stats(&b);
  CHECK(b.gets - a.gets == b.puts - a.puts); /* every buffer went back exactly once */
  /* Live at once: the 16 in the mailbox, and per thread its own and the one
   * it took out of the mailbox. */
  CHECK(b.in_use == a.in_use && b.peak >= 1 && b.peak <= 16 + 2 * (uint64_t)nthreads);
  printf("buffers: %llu gets, peak %llu\n", (unsigned long long)(b.gets - a.gets),
         (unsigned long long)b.peak);
  return 0;
}

/* ------------------------------------------------------------ objpool, slab */

/* A free slot's first word is the pool's link: the owner lives after it. */
typedef struct { void *link; slot_t s; } slab_slot_t;

static tierpool_objpool_t *op;
static tierpool_slab_t *sp;

static void *objpool_worker(void *arg) {
  int me = (int)(uintptr_t)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    slot_t *o[4];
    for (int i = 0; i < 4; i++) {
      CHECK(tierpool_objpool_acquire(op, (void **)&o[i]) == 0);
      own(o[i], me);
    }
    for (int i = 0; i < 4; i++) {
      disown(o[i], me);
      tierpool_objpool_release(op, o[i]);
    }
  }
  return NULL;
}

static void *slab_worker(void *arg) {
  int me = (int)(uintptr_t)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    slab_slot_t *o[8];
    int n = 0;
    for (; n < 8; n++) {
      if (!(o[n] = tierpool_slab_alloc(sp))) break;
      own(&o[n]->s, me); /* fresh slots are zero, freed ones disowned */
    }
    for (int i = 0; i < n; i++) {
      disown(&o[i]->s, me);
      tierpool_slab_free(sp, o[i]);
    }
  }
  return NULL;
}

static int run_objpool(void) {
  tierpool_objpool_opts_t o = {.name = "stress", .size = sizeof(slot_t), .max_idle = 8};
  CHECK(tierpool_objpool_create(&op, &o) == 0);
  run_threads(objpool_worker);
  tierpool_pool_stats_t st;
  tierpool_objpool_stats(op, &st);
  CHECK(st.in_use == 0 && st.gets == st.puts);
  CHECK(tierpool_objpool_destroy(op) == 0);
  printf("objpool: %llu gets, %llu made\n", (unsigned long long)st.gets, (unsigned long long)st.created);
  return 0;
}

static int run_slab(void) {
  tierpool_slab_opts_t o = {.name = "stress", .size = sizeof(slab_slot_t), .limit = 16 * 20};
  CHECK(tierpool_slab_create(&sp, &o) == 0);
  run_threads(slab_worker);
  tierpool_pool_stats_t st;
  tierpool_slab_stats(sp, NULL, &st);
  CHECK(st.in_use == 0 && st.gets == st.puts && st.peak <= 20);
  CHECK(tierpool_slab_destroy(sp) == 0);
  printf("slab: %llu gets, peak %llu\n", (unsigned long long)st.gets, (unsigned long long)st.peak);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: pools_driver swap PCT SECONDS [transfer] | bounded|buffers|objpool|slab SECONDS\n");
    return 2;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  nthreads = cores < 4 ? 4 : cores > 32 ? 32 : (int)cores;
  if (!strcmp(argv[1], "swap")) {
    seconds = argc > 3 ? atof(argv[3]) : 2;
    return run_swap(atoi(argv[2]), argc > 4 && !strcmp(argv[4], "transfer"));
  }
  seconds = atof(argv[2]);
  if (!strcmp(argv[1], "bounded")) return run_bounded();
  if (!strcmp(argv[1], "buffers")) return run_buffers();
  if (!strcmp(argv[1], "objpool")) return run_objpool();
  if (!strcmp(argv[1], "slab")) return run_slab();
  fprintf(stderr, "pools_driver: unknown scenario %s\n", argv[1]);
  return 2;
}
