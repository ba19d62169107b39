/* pools_bench.c - the pooling library against what a C programmer would
 * write instead. One case and variant per run; scripts/bench-pools runs
 * them alternately and takes medians. Prints one line:
 *
 *   CASE VARIANT threads=T ns_per_op=X bytes_per_op=Y [key=value ...]
 *
 * Built twice: linked with tierpool (every variant; malloc is tierpool's)
 * and, with TP_BENCH_GLIBC, without it (the malloc-based variants on
 * glibc's malloc). bytes_per_op is what the variant asked the allocator
 * for per operation (tierpool's counters in the linked build, the
 * variant's own count otherwise), measured after a warm-up run of the
 * same length.
 *
 *   buf SIZE {pool|malloc|freelist} THREADS      get, retain, release, release
 *   mixed {tiered|single|malloc}                 hold 50, 10 B or 256 KiB - 1 (p 0.1)
 *   swap PCT {swap|rwlock|cowmalloc} THREADS     100 000-entry table, PCT% updates
 *   bounded {bounded|condvar|sem} THREADS N      acquire + release
 *   arena {alloc|malloc}                         64-byte allocations
 *   reset SLABS {plain|release|harden}           reset after SLABS x 64 KiB
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef TP_BENCH_GLIBC
#include <tierpool.h>
#include <tierpool_pools.h>
#endif

#define SECONDS 0.4

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Bytes asked of the allocator so far (tierpool's counters), or the
 * variants' own count in the glibc build. */
static _Atomic uint64_t own_bytes;
static uint64_t bytes_asked(void) {
#ifndef TP_BENCH_GLIBC
  tierpool_stats_t st;
  tierpool_stats(&st);
  uint64_t b = st.discarded_bytes;
  for (uint32_t t = 0; t < st.ntiers; t++) b += st.tiers[t].bytes_requested;
  return b;
#else
  return atomic_load(&own_bytes);
#endif
}
static void *counted_malloc(size_t n) {
  atomic_fetch_add_explicit(&own_bytes, n, memory_order_relaxed);
  return malloc(n);
}

/* Runs fn on `threads` threads for SECONDS; returns the total operations. */
static _Atomic int stop;
static _Atomic uint64_t total_ops;
static double run_for(void *(*fn)(void *), int threads, uint64_t *ops) {
  pthread_t t[64];
  atomic_store(&stop, 0);
  atomic_store(&total_ops, 0);
  double t0 = now();
  for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, (void *)(i + 1));
  struct timespec d = {0, (long)(SECONDS * 1e9)};
  nanosleep(&d, NULL);
  atomic_store(&stop, 1);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  *ops = atomic_load(&total_ops);
  return now() - t0;
}

static void report(const char *cs, const char *variant, int threads, double secs, uint64_t ops,
                   uint64_t bytes, const char *extra) {
  printf("%s %s threads=%d ns_per_op=%.2f bytes_per_op=%.1f%s%s\n", cs, variant, threads,
         secs * 1e9 / (double)ops, (double)bytes / (double)ops, extra ? " " : "", extra ? extra : "");
}

/* ------------------------------------------------------------ refcounted buffers */

typedef struct { _Atomic uint32_t refs; uint32_t pad[3]; } hdr_t; /* what one writes by hand */

static size_t buf_size;
static const char *variant;
static pthread_mutex_t fl_lock = PTHREAD_MUTEX_INITIALIZER;
static void *fl_head;

static void *fl_get(size_t n) {
  pthread_mutex_lock(&fl_lock);
  void *p = fl_head;
  if (p) fl_head = *(void **)p;
  pthread_mutex_unlock(&fl_lock);
  return p ? p : counted_malloc(n);
}
static void fl_put(void *p) {
  pthread_mutex_lock(&fl_lock);
  *(void **)p = fl_head;
  fl_head = p;
  pthread_mutex_unlock(&fl_lock);
}

static void hdr_release(hdr_t *h, int freelist) {
  if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
    if (freelist) fl_put(h);
    else free(h);
  }
}

static void *buf_worker(void *arg) {
  (void)arg;
  uint64_t n = 0;
  int v = variant[0] == 'p' ? 0 : variant[0] == 'm' ? 1 : 2;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    for (int i = 0; i < 256; i++) {
#ifndef TP_BENCH_GLIBC
      if (v == 0) {
        char *b = tierpool_buf_get(buf_size, NULL);
        b[0] = 1;
        tierpool_buf_retain(b);
        tierpool_buf_release(b);
        tierpool_buf_release(b);
        continue;
      }
#endif
      hdr_t *h = v == 1 ? counted_malloc(sizeof(hdr_t) + buf_size) : fl_get(sizeof(hdr_t) + buf_size);
      atomic_store_explicit(&h->refs, 1, memory_order_relaxed);
      ((char *)(h + 1))[0] = 1;
      atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
      hdr_release(h, v == 2);
      hdr_release(h, v == 2);
    }
    n += 256;
  }
  atomic_fetch_add(&total_ops, n);
  return NULL;
}

/* ------------------------------------------------------------ mixed sizes */

#define HOLD 50
#define BIG (256 * 1024 - 1)

typedef struct { void *p; size_t cap; } sbuf_t;
static sbuf_t single_list[HOLD + 1];
static int single_n;

static int run_mixed(void) {
  uint64_t seed = 42, ops = 0, b0 = bytes_asked();
  sbuf_t held[HOLD] = {{0}};
  size_t peak_bytes = 0, held_bytes = 0, listed_bytes = 0;
  double t0 = now();
  while (now() - t0 < SECONDS) {
    for (int k = 0; k < 1000; k++, ops++) {
      size_t n = rnd(&seed) % 10 == 0 ? BIG : 10;
      sbuf_t *h = &held[rnd(&seed) % HOLD];
      /* give the old one back */
      if (h->p) {
        held_bytes -= h->cap;
#ifndef TP_BENCH_GLIBC
        if (variant[0] == 't') tierpool_buf_put(h->p);
        else
#endif
        if (variant[0] == 's') {
          single_list[single_n++] = *h;
          listed_bytes += h->cap;
        } else {
          free(h->p);
        }
      }
      /* get the new one */
#ifndef TP_BENCH_GLIBC
      if (variant[0] == 't') {
        h->p = tierpool_buf_get(n, &h->cap);
      } else
#endif
      if (variant[0] == 's') {
        /* a single free list: take any buffer, upsize it if it is too small */
        if (single_n) {
          *h = single_list[--single_n];
          listed_bytes -= h->cap;
          if (h->cap < n) {
            free(h->p);
            h->p = counted_malloc(n);
            h->cap = n;
          }
        } else {
          h->p = counted_malloc(n);
          h->cap = n;
        }
      } else {
        h->p = counted_malloc(n);
        h->cap = n;
      }
      ((char *)h->p)[0] = 1;
      ((char *)h->p)[n - 1] = 1;
      held_bytes += h->cap;
      if (held_bytes + listed_bytes > peak_bytes) peak_bytes = held_bytes + listed_bytes;
    }
  }
  double secs = now() - t0;
  char extra[64];
  snprintf(extra, sizeof extra, "held_peak_kib=%zu", peak_bytes >> 10);
  report("mixed", variant, 1, secs, ops, bytes_asked() - b0, variant[0] == 'm' ? NULL : extra);
  return 0;
}

/* ------------------------------------------------------------ swap container */

#define ENTRIES 100000
typedef struct { _Atomic uint32_t refs; uint64_t e[ENTRIES]; } table_t;

static int write_pct;
#ifndef TP_BENCH_GLIBC
static tierpool_swap_t *sw;
#endif
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static table_t *inplace;
static pthread_mutex_t cow_lock = PTHREAD_MUTEX_INITIALIZER;
static table_t *cow_cur;

static table_t *cow_get(void) {
  pthread_mutex_lock(&cow_lock);
  table_t *t = cow_cur;
  atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
  pthread_mutex_unlock(&cow_lock);
  return t;
}
static void cow_put(table_t *t) {
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) free(t);
}

static void *swap_worker(void *arg) {
  uint64_t seed = (uintptr_t)arg, n = 0, sum = 0;
  char v = variant[0];
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    for (int k = 0; k < 64; k++, n++) {
      uint64_t r = rnd(&seed);
      size_t i = (r >> 8) % ENTRIES;
      bool write = r % 100 < (uint64_t)write_pct;
      if (v == 'r') {
        if (write) {
          pthread_rwlock_wrlock(&rw);
          inplace->e[i]++;
          pthread_rwlock_unlock(&rw);
        } else {
          pthread_rwlock_rdlock(&rw);
          sum += inplace->e[i] + inplace->e[(i * 7) % ENTRIES];
          pthread_rwlock_unlock(&rw);
        }
      } else if (v == 'c') {
        table_t *t = cow_get();
        if (write) {
          table_t *nt = counted_malloc(sizeof *nt);
          memcpy(nt->e, t->e, sizeof nt->e);
          nt->e[i]++;
          atomic_store_explicit(&nt->refs, 1, memory_order_relaxed); /* the container's */
          pthread_mutex_lock(&cow_lock);
          table_t *old = cow_cur;
          cow_cur = nt;
          pthread_mutex_unlock(&cow_lock);
          cow_put(old);
        } else {
          sum += t->e[i] + t->e[(i * 7) % ENTRIES];
        }
        cow_put(t);
      }
#ifndef TP_BENCH_GLIBC
      else {
        const table_t *t = tierpool_swap_acquire(sw);
        if (write) {
          table_t *nt = tierpool_swap_write_begin(sw);
          memcpy(nt->e, t->e, sizeof nt->e);
          nt->e[i]++;
          tierpool_swap_commit(sw, nt);
        } else {
          sum += t->e[i] + t->e[(i * 7) % ENTRIES];
        }
        tierpool_swap_release(sw, t);
      }
#endif
    }
  }
  atomic_fetch_add(&total_ops, n + (sum == 42));
  return NULL;
}

/* ------------------------------------------------------------ bounded pools */

#define MAXN 64
static int pool_n;
#ifndef TP_BENCH_GLIBC
static tierpool_bounded_t *bp;
#endif
static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static void *cv_free[MAXN];
static int cv_nfree;
static sem_t sem;
static pthread_mutex_t sem_lock = PTHREAD_MUTEX_INITIALIZER;

static void *bounded_worker(void *arg) {
  (void)arg;
  uint64_t n = 0;
  char v = variant[0];
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    for (int k = 0; k < 64; k++, n++) {
      void *o = NULL;
      if (v == 'c') {
        pthread_mutex_lock(&cv_lock);
        while (!cv_nfree) pthread_cond_wait(&cv, &cv_lock);
        o = cv_free[--cv_nfree];
        pthread_mutex_unlock(&cv_lock);
        ((volatile char *)o)[0]++;
        pthread_mutex_lock(&cv_lock);
        cv_free[cv_nfree++] = o;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&cv_lock);
      } else if (v == 's') {
        sem_wait(&sem);
        pthread_mutex_lock(&sem_lock);
        o = cv_free[--cv_nfree];
        pthread_mutex_unlock(&sem_lock);
        ((volatile char *)o)[0]++;
        pthread_mutex_lock(&sem_lock);
        cv_free[cv_nfree++] = o;
        pthread_mutex_unlock(&sem_lock);
        sem_post(&sem);
      }
#ifndef TP_BENCH_GLIBC
      else {
        tierpool_bounded_acquire(bp, &o, NULL, NULL);
        ((volatile char *)o)[0]++;
        tierpool_bounded_release(bp, o);
      }
#endif
    }
  }
  atomic_fetch_add(&total_ops, n);
  return NULL;
}

/* ------------------------------------------------------------ arenas */

static int run_arena(void) {
  uint64_t ops = 0;
  double t0 = now();
#ifndef TP_BENCH_GLIBC
  if (variant[0] == 'a') {
    tierpool_arena_t *a;
    tierpool_arena_opts_t o = {.limit = 64 << 20};
    tierpool_arena_create(&a, &o);
    while (now() - t0 < SECONDS) {
      for (int i = 0; i < 100000; i++, ops++) *(char *)tierpool_arena_alloc(a, 64, 0) = 1;
      tierpool_arena_reset(a);
    }
    double secs = now() - t0;
    tierpool_arena_destroy(a);
    report("arena", variant, 1, secs, ops, 0, NULL);
    return 0;
  }
#endif
  static void *ptrs[100000];
  while (now() - t0 < SECONDS) {
    for (int i = 0; i < 100000; i++, ops++) *(char *)(ptrs[i] = malloc(64)) = 1;
    for (int i = 0; i < 100000; i++) free(ptrs[i]);
  }
  report("arena", variant, 1, now() - t0, ops, 0, NULL);
  return 0;
}

#ifndef TP_BENCH_GLIBC
static int run_reset(int slabs) {
  unsigned flags = variant[0] == 'r' ? TIERPOOL_ARENA_RELEASE : variant[0] == 'h' ? TIERPOOL_ARENA_HARDEN : 0;
  tierpool_arena_t *a;
  tierpool_arena_opts_t o = {.limit = (size_t)slabs << 16, .flags = flags};
  if (tierpool_arena_create(&a, &o)) return 1;
  double total = 0;
  int rounds = 0;
  double t0 = now();
  while (now() - t0 < SECONDS || rounds < 3) {
    for (int s = 0; s < slabs; s++) memset(tierpool_arena_alloc(a, 1 << 16, 0), 1, 64); /* touch */
    double r0 = now();
    tierpool_arena_reset(a);
    total += now() - r0;
    rounds++;
  }
  char cs[32];
  snprintf(cs, sizeof cs, "reset%d", slabs);
  report(cs, variant, 1, total, (uint64_t)rounds, 0, NULL);
  return tierpool_arena_destroy(a);
}
#endif

/* ------------------------------------------------------------ main */

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: see the top of pools_bench.c\n");
    return 2;
  }
  const char *cs = argv[1];
  uint64_t ops, b0;
  double secs;
  if (!strcmp(cs, "buf") && argc >= 5) {
    buf_size = strtoul(argv[2], NULL, 0);
    variant = argv[3];
    int threads = atoi(argv[4]);
    run_for(buf_worker, threads, &ops); /* warm-up: caches and free lists filled */
    b0 = bytes_asked();
    secs = run_for(buf_worker, threads, &ops);
    char name[32];
    snprintf(name, sizeof name, "buf%zu", buf_size);
    report(name, variant, threads, secs, ops, bytes_asked() - b0, NULL);
    return 0;
  }
  if (!strcmp(cs, "mixed")) {
    variant = argv[2];
    return run_mixed();
  }
  if (!strcmp(cs, "swap") && argc >= 5) {
    write_pct = atoi(argv[2]);
    variant = argv[3];
    int threads = atoi(argv[4]);
    if (variant[0] == 'r') inplace = calloc(1, sizeof(table_t));
    if (variant[0] == 'c') {
      cow_cur = calloc(1, sizeof(table_t));
      cow_cur->refs = 1;
    }
#ifndef TP_BENCH_GLIBC
    if (variant[0] == 's') {
      tierpool_swap_opts_t o = {.size = sizeof(table_t)};
      if (tierpool_swap_create(&sw, &o)) return 1;
      for (int i = 0; i < 64; i++) tierpool_swap_commit(sw, tierpool_swap_write_begin(sw)); /* warm */
    }
#endif
    run_for(swap_worker, threads, &ops); /* warm-up: the objects the readers need */
    b0 = bytes_asked();
    secs = run_for(swap_worker, threads, &ops);
    char name[32];
    snprintf(name, sizeof name, "swap%d", write_pct);
    report(name, variant, threads, secs, ops, bytes_asked() - b0, NULL);
    return 0;
  }
  if (!strcmp(cs, "bounded") && argc >= 5) {
    variant = argv[2];
    int threads = atoi(argv[3]);
    pool_n = atoi(argv[4]);
    for (int i = 0; i < pool_n; i++) cv_free[i] = calloc(1, 64);
    cv_nfree = pool_n;
    sem_init(&sem, 0, (unsigned)pool_n);
#ifndef TP_BENCH_GLIBC
    tierpool_bounded_opts_t o = {.count = (size_t)pool_n, .size = 64};
    if (variant[0] == 'b' && tierpool_bounded_create(&bp, &o)) return 1;
#endif
    secs = run_for(bounded_worker, threads, &ops);
    char name[32];
    snprintf(name, sizeof name, "bounded_t%d_n%d", threads, pool_n);
    report(name, variant, threads, secs, ops, 0, NULL);
    return 0;
  }
  if (!strcmp(cs, "arena")) {
    variant = argv[2];
    return run_arena();
  }
#ifndef TP_BENCH_GLIBC
  if (!strcmp(cs, "reset") && argc >= 4) {
    variant = argv[3];
    return run_reset(atoi(argv[2]));
  }
#endif
  fprintf(stderr, "pools_bench: unknown case %s\n", cs);
  return 2;
}
