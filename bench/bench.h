/* bench.h - what every tierpool workload shares.
 *
 * The workloads in bench/ are ordinary programs that call plain
 * malloc/free; the allocator under test is swapped in by LD_PRELOAD, never
 * linked. Each one takes "-t THREADS" and "-n SIZE" (what SIZE counts is
 * the workload's own: iterations, blocks or threads; its usage line says),
 * draws every random number from a seeded splitmix64 so two runs do the
 * same work, and prints one line:
 *
 *   NAME threads=T size=N secs=S ops=O check=C [key=value ...]
 *
 * secs is the measured part only; check is a checksum of what the workload
 * read back, printed so that no compiler can prove the work useless. The
 * runner (scripts/bench) times the whole process itself and reads the
 * extra key=value pairs (the fragmentation run's RSS figures).
 *
 * Everything here is static inline: each workload is one .c file.
 */
#ifndef TP_BENCH_H
#define TP_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --- deterministic PRNG: splitmix64, one state word per thread -------- */

typedef struct bench_rng_s {
  uint64_t s;
} bench_rng_t;

static inline bench_rng_t bench_rng(uint64_t seed) {
  bench_rng_t r = {seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull};
  return r;
}

static inline uint64_t bench_next(bench_rng_t *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n). The modulo bias is irrelevant at these ranges. */
static inline uint64_t bench_below(bench_rng_t *r, uint64_t n) { return bench_next(r) % n; }

/* Log-uniform size in [lo, hi]: pick a power-of-two octave uniformly, then
 * a size uniformly inside it. Real programs ask for small blocks far more
 * often than large ones; this gives every octave the same share. */
static inline size_t bench_size(bench_rng_t *r, size_t lo, size_t hi) {
  int a = 63 - __builtin_clzll(lo), b = 63 - __builtin_clzll(hi > lo ? hi - 1 : hi);
  size_t base = (size_t)1 << (a + (int)bench_below(r, (uint64_t)(b - a + 1)));
  size_t s = base + (size_t)bench_below(r, base);
  return s < lo ? lo : s > hi ? hi : s;
}

/* --- time ---------------------------------------------------------- */

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- arguments ----------------------------------------------------- */

typedef struct bench_args_s {
  const char *name; /* workload name, for the report line */
  int threads;      /* -t */
  long size;        /* -n: what it counts is the workload's own */
} bench_args_t;

/* Parses "-t THREADS -n SIZE"; exits with the usage line on anything else. */
static inline bench_args_t bench_parse(int argc, char **argv, const char *name, int threads,
                                       long size, const char *size_means) {
  bench_args_t a = {name, threads, size};
  int c;
  while ((c = getopt(argc, argv, "t:n:h")) != -1) {
    char *end = NULL;
    long v = optarg ? strtol(optarg, &end, 10) : 0;
    if (c == 't' && *end == '\0' && v >= 1 && v <= 1024) {
      a.threads = (int)v;
    } else if (c == 'n' && *end == '\0' && v >= 0) {
      a.size = v;
    } else {
      fprintf(stderr, "usage: %s [-t THREADS (default %d)] [-n SIZE (default %ld): %s]\n",
              name, threads, size, size_means);
      exit(c == 'h' ? 0 : 2);
    }
  }
  return a;
}

/* --- reporting ----------------------------------------------------- */

static inline void bench_report(const bench_args_t *a, double secs, uint64_t ops, uint64_t check,
                                const char *extra) {
  printf("%s threads=%d size=%ld secs=%.4f ops=%llu check=%llu%s%s\n", a->name, a->threads,
         a->size, secs, (unsigned long long)ops, (unsigned long long)check, extra ? " " : "",
         extra ? extra : "");
  fflush(stdout);
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or -1. */
static inline long bench_status_kib(const char *field) {
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      v = strtol(line + n + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

/* Dies without a word from the allocator under test. */
static inline void bench_die(const char *what) {
  fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static inline void *bench_xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) bench_die("malloc");
  return p;
}

/* Writes one byte per page, as a program that uses its memory would, and
 * returns a byte to fold into the checksum. */
static inline unsigned bench_touch(void *p, size_t n, unsigned v) {
  unsigned char *b = (unsigned char *)p;
  for (size_t i = 0; i < n; i += 4096) b[i] = (unsigned char)v;
  b[n - 1] = (unsigned char)v;
  return b[n / 2];
}

/* --- threads ------------------------------------------------------- */

typedef struct bench_thread_s {
  int id;        /* 0 .. threads-1 */
  int threads;   /* how many run */
  long size;     /* the workload's -n */
  void *shared;  /* the workload's shared state */
  uint64_t ops;  /* written by the thread: operations done */
  uint64_t check; /* written by the thread: its checksum */
  pthread_t tid;
} bench_thread_t;

/* Runs fn on `threads` threads (thread 0 included, no thread when one is
 * asked), waits for all, and sums ops and check into *ops and *check. */
static inline void bench_run_threads(int threads, long size, void *shared,
                                     void *(*fn)(void *), uint64_t *ops, uint64_t *check) {
  bench_thread_t *t = (bench_thread_t *)calloc((size_t)threads, sizeof *t);
  if (!t) bench_die("calloc");
  for (int i = 0; i < threads; i++) {
    t[i].id = i;
    t[i].threads = threads;
    t[i].size = size;
    t[i].shared = shared;
  }
  for (int i = 1; i < threads; i++)
    if ((errno = pthread_create(&t[i].tid, NULL, fn, &t[i])) != 0) bench_die("pthread_create");
  fn(&t[0]);
  *ops = t[0].ops;
  *check = t[0].check;
  for (int i = 1; i < threads; i++) {
    pthread_join(t[i].tid, NULL);
    *ops += t[i].ops;
    *check += t[i].check;
  }
  free(t);
}

/* --- a single-producer single-consumer ring of pointers -------------- */

/* How blocks cross threads in the workloads: one thread pushes, one pops.
 * Head and tail live on their own cache lines so the ring itself adds no
 * false sharing to what the allocator does. */
#define BENCH_RING_CAP 4096

typedef struct bench_ring_s {
  _Alignas(64) _Atomic size_t head; /* next slot to pop; written by the consumer */
  _Alignas(64) _Atomic size_t tail; /* next slot to push; written by the producer */
  _Alignas(64) void *slot[BENCH_RING_CAP];
} bench_ring_t;

/* Returns 0 when the ring is full. */
static inline int bench_ring_push(bench_ring_t *q, void *p) {
  size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
  if (t - atomic_load_explicit(&q->head, memory_order_acquire) == BENCH_RING_CAP) return 0;
  q->slot[t % BENCH_RING_CAP] = p;
  atomic_store_explicit(&q->tail, t + 1, memory_order_release);
  return 1;
}

/* Returns NULL when the ring is empty. */
static inline void *bench_ring_pop(bench_ring_t *q) {
  size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
  if (h == atomic_load_explicit(&q->tail, memory_order_acquire)) return NULL;
  void *p = q->slot[h % BENCH_RING_CAP];
  atomic_store_explicit(&q->head, h + 1, memory_order_release);
  return p;
}

#endif
