/* stress.c - randomized multi-threaded stress of the whole malloc family.
 *
 * Usage: tp_stress [-t threads] [-s seconds] [-r seed]   (defaults 4, 8, 1)
 *
 * Each worker owns SLOTS blocks and, until the time budget runs out, picks
 * a slot at random and either allocates into it (malloc, calloc, realloc
 * from NULL, reallocarray, memalign, aligned_alloc, posix_memalign,
 * valloc), or, when it is full, frees it (free, free_sized,
 * free_aligned_sized), reallocs it, or swaps it with a slot of a shared
 * exchange so that another thread frees it. Sizes cover every tier from
 * 16 B to the largest (1 MiB) and forwarded sizes up to 4 MiB, alignments
 * go past the largest tier. Every block is filled with a pattern derived
 * from its address and size, and the pattern is verified before the block
 * is freed, reallocated (the kept prefix must survive) or handed over.
 * A worker's thread exits now and then and a new thread carries on with
 * its blocks, so thread exit happens under load and blocks outlive the
 * thread that made them.
 *
 * The PRNG is xorshift64* seeded from -r and the thread number, so a seed
 * replays the same choices (the interleaving of threads is the OS's).
 * At the end, after every thread is joined (their counters are folded at
 * thread exit), the pools must hold exactly what they held before the run:
 * total_get - total_put unchanged, with every block of the run given back.
 *
 * Exit status 0 when everything held, 1 with a message on stderr when not.
 */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "tp_test.h"

/* C23, not declared by glibc 2.36; weak so that their absence is a
 * reported failure, not a load error. */
void free_sized(void *p, size_t size) __attribute__((weak));
void free_aligned_sized(void *p, size_t alignment, size_t size) __attribute__((weak));

#define SLOTS 512
#define XCHG 64
#define MAX_THREADS 64

enum kind { K_MALLOC, K_CALLOC, K_REALLOC, K_REALLOCARRAY, K_MEMALIGN, K_ALIGNED_ALLOC,
            K_POSIX_MEMALIGN, K_VALLOC, K_NKINDS };
static const char *const kind_name[K_NKINDS] = {"malloc", "calloc", "realloc", "reallocarray",
                                                "memalign", "aligned_alloc", "posix_memalign",
                                                "valloc"};

typedef struct blk_s {
  unsigned char *p; /* NULL: empty slot */
  size_t n;         /* bytes asked for */
  size_t align;     /* alignment asked for (16 when none) */
  enum kind kind;   /* how it was made: decides which sized free fits */
} blk_t;

typedef struct xslot_s {
  pthread_mutex_t lock;
  blk_t b;
} xslot_t;

typedef struct worker_s {
  pthread_t thread;
  int id;
  uint64_t rng;
  bool alive;         /* a thread of this worker runs (main thread only) */
  bool done;          /* the last generation freed every block */
  uint64_t generations; /* threads this worker has run so far */
  uint64_t ops, frees, reallocs, swaps, received;
  uint64_t pooled_allocs;    /* non-realloc allocations the pools must serve */
  uint64_t forwarded_allocs; /* allocations past the largest tier */
  blk_t slot[SLOTS];
} worker_t;

static xslot_t xchg[XCHG];
static atomic_bool stop;
static size_t max_tier;
static size_t page_size;
static double budget;
static struct timespec t0;

/* ------------------------------------------------------------------ */
/* failures, PRNG, patterns                                            */

__attribute__((noreturn, format(printf, 2, 3))) static void fail(const worker_t *w, const char *fmt,
                                                                  ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "stress: thread %d, op %llu: ", w ? w->id : -1,
          w ? (unsigned long long)w->ops : 0ull);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(1);
}

static uint64_t next(worker_t *w) { return rnd(&w->rng); }

static double elapsed(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Word i of the pattern of a block at p of n bytes. */
static inline uint64_t pattern(const void *p, size_t n, size_t i) {
  uint64_t x = ((uint64_t)(uintptr_t)p ^ ((uint64_t)n << 40)) + i * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  return x * 0xBF58476D1CE4E5B9ull;
}

static void fill(unsigned char *p, size_t n) {
  size_t i = 0;
  for (; (i + 1) * 8 <= n; i++) {
    uint64_t v = pattern(p, n, i);
    memcpy(p + i * 8, &v, 8);
  }
  if (i * 8 < n) {
    uint64_t v = pattern(p, n, i);
    memcpy(p + i * 8, &v, n - i * 8);
  }
}

/* Checks the first len bytes at q against the pattern of a block that was
 * at p with n bytes (q != p after a realloc that moved it). */
static void verify(const worker_t *w, const unsigned char *q, const void *p, size_t n, size_t len,
                   const char *when) {
  for (size_t i = 0; i * 8 < len; i++) {
    uint64_t v = pattern(p, n, i);
    size_t k = len - i * 8 < 8 ? len - i * 8 : 8;
    if (memcmp(q + i * 8, &v, k) != 0)
      fail(w, "%s: block %p (was %p, %zu bytes) differs at bytes %zu..%zu", when, (const void *)q,
           p, n, i * 8, i * 8 + k - 1);
  }
}

/* Alignment and usable size of a block, and (content) its pattern. */
static void check_block(const worker_t *w, const blk_t *b, const char *when, bool content) {
  if (((uintptr_t)b->p & 15) != 0 || ((uintptr_t)b->p & (b->align - 1)) != 0)
    fail(w, "%s: %s(%zu, align %zu) = %p is misaligned", when, kind_name[b->kind], b->n, b->align,
         (void *)b->p);
  size_t u = malloc_usable_size(b->p);
  if (u < b->n)
    fail(w, "%s: malloc_usable_size(%p) = %zu < %zu asked of %s", when, (void *)b->p, u, b->n,
         kind_name[b->kind]);
  if (content)
    verify(w, b->p, b->p, b->n, b->n, when);
}

/* ------------------------------------------------------------------ */
/* choosing sizes and alignments                                       */

/* A size for a new block: any tier, small tiers far more often than large
 * ones (filling and checking a 1 MiB block costs), now and then a
 * forwarded size up to 4 MiB, now and then 0. */
static size_t pick_size(worker_t *w) {
  uint64_t r = next(w) % 1000;
  if (r < 2)
    return max_tier + 1 + next(w) % (4 * MiB - max_tier);
  if (r < 6)
    return 0;
  unsigned ntiers = 0;
  while (((size_t)16 << ntiers) <= max_tier)
    ntiers++;
  unsigned k = (unsigned)(next(w) % ntiers);
  if (k > 10 && next(w) % 32)
    k = (unsigned)(next(w) % 11);
  size_t hi = (size_t)16 << k, lo = k ? hi / 2 + 1 : 1;
  return lo + next(w) % (hi - lo + 1);
}

/* An alignment: 8 .. 4096 mostly, up to 4 MiB (past the largest tier)
 * once in fifty. */
static size_t pick_align(worker_t *w) {
  if (next(w) % 50 == 0)
    return (size_t)4096 << (next(w) % 11);
  return (size_t)8 << (next(w) % 10);
}

/* ------------------------------------------------------------------ */
/* the operations                                                      */

static void allocate(worker_t *w, blk_t *b) {
  size_t n = pick_size(w), a = 16;
  enum kind k = (enum kind)(next(w) % K_NKINDS);
  unsigned char *p = NULL;
  switch (k) {
  case K_MALLOC: p = malloc(n); break;
  case K_CALLOC: p = calloc(1, n); break;
  case K_REALLOC: p = realloc(NULL, n); break;
  case K_REALLOCARRAY:
    n &= ~(size_t)7;
    p = reallocarray(NULL, n / 8, 8);
    break;
  case K_MEMALIGN: a = pick_align(w); p = memalign(a, n); break;
  case K_ALIGNED_ALLOC: a = pick_align(w); p = aligned_alloc(a, n); break;
  case K_POSIX_MEMALIGN: {
    a = pick_align(w);
    void *q = NULL;
    int rc = posix_memalign(&q, a, n);
    if (rc != 0)
      fail(w, "posix_memalign(%zu, %zu) = %d", a, n, rc);
    p = q;
    break;
  }
  case K_VALLOC: a = page_size; p = valloc(n); break;
  default: break;
  }
  if (!p)
    fail(w, "%s(%zu, align %zu) returned NULL, errno %d", kind_name[k], n, a, errno);
  if (a < 16)
    a = 16;
  if (k == K_CALLOC)
    for (size_t i = 0; i < n; i++)
      if (p[i])
        fail(w, "calloc(1, %zu) = %p: byte %zu is %#x, not zero", n, (void *)p, i, p[i]);
  size_t need = n > a ? n : a;
  if (need > max_tier)
    w->forwarded_allocs++;
  else if (k != K_REALLOC && k != K_REALLOCARRAY)
    w->pooled_allocs++;
  *b = (blk_t){p, n, a, k};
  fill(p, n);
  check_block(w, b, "after allocation", false);
}

static void release(worker_t *w, blk_t *b) {
  check_block(w, b, "before free", true);
  uint64_t r = next(w) % 5;
  bool sized = (b->kind == K_MALLOC || b->kind == K_CALLOC || b->kind == K_REALLOC);
  if (r == 0 && sized && free_sized)
    free_sized(b->p, b->n);
  else if (r == 0 && b->kind == K_ALIGNED_ALLOC && free_aligned_sized)
    free_aligned_sized(b->p, b->align, b->n);
  else
    free(b->p);
  b->p = NULL;
  w->frees++;
}

static void resize(worker_t *w, blk_t *b) {
  check_block(w, b, "before realloc", true);
  size_t m = next(w) % 64 == 0 ? 0 : pick_size(w);
  unsigned char *old = b->p;
  size_t n = b->n;
  unsigned char *q = realloc(old, m);
  w->reallocs++;
  if (m == 0) {
    if (q)
      fail(w, "realloc(%p, 0) returned %p, not NULL", (void *)old, (void *)q);
    b->p = NULL;
    return;
  }
  if (!q)
    fail(w, "realloc(%p, %zu -> %zu) returned NULL", (void *)old, n, m);
  verify(w, q, old, n, n < m ? n : m, "after realloc");
  /* a pooled block grown past the largest tier is a new forwarded
   * request; a forwarded block resized by mimalloc may not be one */
  if (m > max_tier && (n > b->align ? n : b->align) <= max_tier)
    w->forwarded_allocs++;
  *b = (blk_t){q, m, 16, K_REALLOC};
  fill(q, m);
  check_block(w, b, "after realloc", false);
}

/* Swaps a block (or an empty slot) with a random exchange slot. The
 * block received was filled by another thread; verify it here. */
static void swap(worker_t *w, blk_t *b) {
  if (b->p)
    check_block(w, b, "before hand-over", true);
  xslot_t *x = &xchg[next(w) % XCHG];
  pthread_mutex_lock(&x->lock);
  blk_t t = x->b;
  x->b = *b;
  pthread_mutex_unlock(&x->lock);
  *b = t;
  w->swaps++;
  if (b->p) {
    w->received++;
    check_block(w, b, "after hand-over", true);
  }
}

/* One generation of a worker: a thread that runs a random number of
 * bursts, then exits and leaves its blocks to the thread that succeeds it
 * (so blocks outlive the thread that made them, and thread exit runs
 * under load). The last generation, once time is up, frees them all. */
static void *run(void *arg) {
  worker_t *w = arg;
  uint64_t bursts = 2 + next(w) % 40;
  while (!atomic_load_explicit(&stop, memory_order_relaxed) && bursts-- > 0) {
    for (int burst = 0; burst < 256; burst++, w->ops++) {
      blk_t *b = &w->slot[next(w) % SLOTS];
      uint64_t r = next(w) % 100;
      if (r < 8)
        swap(w, b);
      else if (!b->p)
        allocate(w, b);
      else if (r < 75)
        release(w, b);
      else
        resize(w, b);
    }
    if (elapsed() >= budget)
      atomic_store(&stop, true);
  }
  if (!atomic_load(&stop))
    return NULL;
  for (int i = 0; i < SLOTS; i++)
    if (w->slot[i].p)
      release(w, &w->slot[i]);
  w->done = true;
  return NULL;
}

/* ------------------------------------------------------------------ */
/* driver                                                              */

static void start(worker_t *w) {
  w->alive = true;
  w->generations++;
  if (pthread_create(&w->thread, NULL, run, w) != 0)
    fail(NULL, "pthread_create failed");
}

static void run_threads(worker_t *ws, int nthreads, uint64_t seed, double seconds) {
  budget = seconds;
  atomic_store(&stop, false);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < nthreads; i++) {
    memset(&ws[i], 0, sizeof ws[i]);
    ws[i].id = i;
    ws[i].rng = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(i + 1) * 0xD1B54A32D192ED03ull;
    start(&ws[i]);
  }
  /* Replace each thread that ends a generation until time is up. */
  for (int running = nthreads; running > 0;) {
    running = 0;
    for (int i = 0; i < nthreads; i++) {
      if (!ws[i].alive)
        continue;
      if (pthread_tryjoin_np(ws[i].thread, NULL) != 0) {
        running++;
        continue;
      }
      ws[i].alive = false;
      if (!atomic_load(&stop) || !ws[i].done) {
        start(&ws[i]);
        running++;
      }
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  for (int i = 0; i < XCHG; i++)
    if (xchg[i].b.p) {
      check_block(NULL, &xchg[i].b, "left in the exchange", true);
      free(xchg[i].b.p);
      xchg[i].b.p = NULL;
    }
}

static void snap(tierpool_stats_t *s) {
  if (tp_probe_snap(s) != 0)
    fail(NULL, "tierpool_stats not found: tierpool is not the malloc of this process");
}

int main(int argc, char **argv) {
  int nthreads = 4;
  double seconds = 8;
  uint64_t seed = 1;
  for (int c; (c = getopt(argc, argv, "t:s:r:h")) != -1;) {
    switch (c) {
    case 't': nthreads = atoi(optarg); break;
    case 's': seconds = atof(optarg); break;
    case 'r': seed = strtoull(optarg, NULL, 0); break;
    default:
      fprintf(stderr, "usage: %s [-t threads] [-s seconds] [-r seed]\n", argv[0]);
      return 2;
    }
  }
  if (nthreads < 1 || nthreads > MAX_THREADS || seconds <= 0) {
    fprintf(stderr, "stress: threads must be 1..%d, seconds > 0\n", MAX_THREADS);
    return 2;
  }
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < XCHG; i++)
    pthread_mutex_init(&xchg[i].lock, NULL);
  static worker_t ws[MAX_THREADS];

  tierpool_stats_t s0, s1;
  snap(&s0);
  max_tier = tp_probe_max_tier(&s0);
  if (max_tier < 4096)
    fail(NULL, "largest tier %zu is too small for this test", max_tier);
  printf("stress: %d threads, %.1f s, seed %llu, largest tier %zu\n", nthreads, seconds,
         (unsigned long long)seed, max_tier);
  fflush(stdout);

  /* A short first round lets glibc set up what its threads keep for
   * reuse (stacks, TLS vectors), so the counted round below starts from a
   * process that will not grow on its own. */
  run_threads(ws, nthreads, seed ^ 0xFFFF, seconds / 50);

  snap(&s0);
  run_threads(ws, nthreads, seed, seconds);
  snap(&s1);

  uint64_t ops = 0, frees = 0, reallocs = 0, swaps = 0, received = 0, pooled = 0, fwd = 0, gens = 0;
  for (int i = 0; i < nthreads; i++) {
    ops += ws[i].ops;
    frees += ws[i].frees;
    reallocs += ws[i].reallocs;
    swaps += ws[i].swaps;
    received += ws[i].received;
    pooled += ws[i].pooled_allocs;
    fwd += ws[i].forwarded_allocs;
    gens += ws[i].generations;
  }
  printf("stress: %llu threads, %llu ops, %llu frees, %llu reallocs, %llu swaps (%llu blocks "
         "received)\n", (unsigned long long)gens, (unsigned long long)ops, (unsigned long long)frees, (unsigned long long)reallocs,
         (unsigned long long)swaps, (unsigned long long)received);
  int64_t live0 = (int64_t)(s0.total_get - s0.total_put);
  int64_t live1 = (int64_t)(s1.total_get - s1.total_put);
  printf("stress: pools: %llu gets, %llu puts, %llu discarded; live before %lld, after %lld\n",
         (unsigned long long)(s1.total_get - s0.total_get),
         (unsigned long long)(s1.total_put - s0.total_put),
         (unsigned long long)(s1.discarded - s0.discarded), (long long)live0, (long long)live1);

  int bad = 0;
  if (live1 != live0) {
    fprintf(stderr, "stress: the test holds no block, yet total_get - total_put went from %lld to "
                    "%lld\n", (long long)live0, (long long)live1);
    bad = 1;
  }
  int64_t sum_live = 0;
  uint64_t sum_get = 0, sum_put = 0;
  for (uint32_t i = 0; i < s1.ntiers; i++) {
    const tierpool_tier_stats_t *t = &s1.tiers[i];
    sum_live += t->live;
    sum_get += t->get;
    sum_put += t->put;
    if (t->live != (int64_t)(t->get - t->put)) {
      fprintf(stderr, "stress: tier %llu: live %lld != get %llu - put %llu\n",
              (unsigned long long)t->size, (long long)t->live, (unsigned long long)t->get,
              (unsigned long long)t->put);
      bad = 1;
    }
  }
  if (sum_get != s1.total_get || sum_put != s1.total_put || sum_live != live1) {
    fprintf(stderr, "stress: tiers sum to get %llu put %llu live %lld, totals say %llu %llu %lld\n",
            (unsigned long long)sum_get, (unsigned long long)sum_put, (long long)sum_live,
            (unsigned long long)s1.total_get, (unsigned long long)s1.total_put, (long long)live1);
    bad = 1;
  }
  /* a full region forwards a poolable request (TIERPOOL_REGION_SIZE) */
  uint64_t full = (s1.discarded_by_reason[TIERPOOL_REASON_POOL_FULL] -
                   s0.discarded_by_reason[TIERPOOL_REASON_POOL_FULL]) +
                  (s1.discarded_by_reason[TIERPOOL_REASON_NO_POOL] -
                   s0.discarded_by_reason[TIERPOOL_REASON_NO_POOL]);
  if (s1.total_get - s0.total_get + full < pooled) {
    fprintf(stderr, "stress: %llu pooled allocations but only %llu gets (+%llu pool full) counted\n",
            (unsigned long long)pooled, (unsigned long long)(s1.total_get - s0.total_get),
            (unsigned long long)full);
    bad = 1;
  }
  if (s1.discarded - s0.discarded < fwd) {
    fprintf(stderr, "stress: %llu forwarded allocations but only %llu discarded counted\n",
            (unsigned long long)fwd, (unsigned long long)(s1.discarded - s0.discarded));
    bad = 1;
  }
  if (s1.threads_exited - s0.threads_exited < gens) {
    fprintf(stderr, "stress: %llu threads joined, threads_exited grew by %llu\n",
            (unsigned long long)gens, (unsigned long long)(s1.threads_exited - s0.threads_exited));
    bad = 1;
  }
  if (!free_sized || !free_aligned_sized) {
    fprintf(stderr, "stress: free_sized or free_aligned_sized is not defined\n");
    bad = 1;
  }
  if (ops == 0 || received == 0) {
    fprintf(stderr, "stress: nothing was exercised (%llu ops, %llu blocks handed over)\n",
            (unsigned long long)ops, (unsigned long long)received);
    bad = 1;
  }
  puts(bad ? "stress: FAILED" : "stress: ok");
  return bad;
}
