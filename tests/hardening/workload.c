/* workload: a correct program that uses the whole malloc family from
 * several threads, checks every block's content, alignment and usable size,
 * and passes blocks between threads. It prints one line,
 * "workload ok checksum=N", where N depends only on the arguments: the
 * same run under any tierpool setting prints the same line.
 *
 *   workload [THREADS [ROUNDS [MAX_ALIGN]]]
 *            (default 4 threads, 20000 rounds, alignments up to 2 MiB)
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

enum { SLOTS = 256, BOXES = 64 };

typedef struct {
  void *p;
  size_t n;
  uint64_t tag;
} blk_t;

/* Mailboxes: a thread drops a block here, any thread may take it. Word 0
 * of the block holds its length, word 1 its tag; the rest is filled. */
static _Atomic(void *) boxes[BOXES];
static int rounds = 20000;
static unsigned align_shifts = 18; /* alignments 16 << 0 .. 16 << 17 */

static size_t pick_size(uint64_t *s) {
  uint64_t r = rnd(s);
  unsigned k = r % 64;
  if (k == 0) return 1 + (r >> 8) % (2 * MiB); /* past the largest tier, at times */
  if (k < 8) return 1 + (r >> 8) % (64 * KiB);
  if (k < 12) return 0;
  return 1 + (r >> 8) % 512;
}

static void drop(blk_t *b) {
  if (!b->p) return;
  CHECK(check_fill(b->p, b->n, b->tag));
  free(b->p);
  b->p = NULL;
}

static void give(void *p, size_t n, uint64_t tag) {
  uint64_t *w = p;
  w[0] = n;
  w[1] = tag;
  fill(w + 2, n - 16, tag);
  void *old = atomic_exchange(&boxes[tag % BOXES], p);
  if (old) {
    uint64_t *o = old;
    CHECK(check_fill(o + 2, o[0] - 16, o[1]));
    free(old);
  }
}

static void *worker(void *arg) {
  uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(uintptr_t)arg + 1;
  uint64_t sum = 0;
  blk_t slot[SLOTS] = {{0}};
  for (int i = 0; i < rounds; i++) {
    uint64_t r = rnd(&seed);
    blk_t *b = &slot[r % SLOTS];
    size_t n = pick_size(&seed);
    uint64_t tag = rnd(&seed);
    sum = sum * 31 + n;
    switch ((r >> 16) % 8) {
    case 0: case 1: case 2: /* malloc */
      drop(b);
      b->p = malloc(n);
      CHECK(b->p != NULL);
      CHECK(malloc_usable_size(b->p) >= n);
      CHECK(((uintptr_t)b->p & 15) == 0);
      break;
    case 3: { /* calloc: zero, also when the block is recycled */
      drop(b);
      size_t k = 1 + n % 7;
      b->p = calloc(k, n / k + 1);
      CHECK(b->p != NULL);
      n = k * (n / k + 1);
      for (size_t j = 0; j < n; j++) CHECK(((unsigned char *)b->p)[j] == 0);
      break;
    }
    case 4: { /* realloc: the old content survives */
      if (!b->p) continue;
      CHECK(check_fill(b->p, b->n, b->tag));
      if (n == 0) n = 1;
      char *q = realloc(b->p, n);
      CHECK(q != NULL);
      CHECK(check_fill(q, b->n < n ? b->n : n, b->tag));
      b->p = q;
      break;
    }
    case 5: { /* aligned */
      drop(b);
      size_t a = (size_t)16 << (r >> 24) % align_shifts;
      if (n > 256 * KiB) n = 256 * KiB;
      switch ((r >> 32) % 3) {
      case 0: CHECK(posix_memalign(&b->p, a, n) == 0); break;
      case 1: b->p = aligned_alloc(a, n); break;
      default: b->p = memalign(a, n); break;
      }
      CHECK(b->p != NULL);
      CHECK(((uintptr_t)b->p & (a - 1)) == 0);
      CHECK(malloc_usable_size(b->p) >= n);
      break;
    }
    case 6: { /* to another thread */
      void *p = malloc(n + 16);
      CHECK(p != NULL);
      give(p, n + 16, tag);
      continue;
    }
    default: /* take one from another thread */
      drop(b);
      {
        void *p = atomic_exchange(&boxes[tag % BOXES], NULL);
        if (p) {
          uint64_t *w = p;
          CHECK(check_fill(w + 2, w[0] - 16, w[1]));
          free(p);
        }
      }
      continue;
    }
    b->n = n;
    b->tag = tag;
    fill(b->p, n, tag);
  }
  for (int i = 0; i < SLOTS; i++) drop(&slot[i]);
  return (void *)(uintptr_t)sum;
}

int main(int argc, char **argv) {
  int nthreads = argc > 1 ? atoi(argv[1]) : 4;
  if (argc > 2) rounds = atoi(argv[2]);
  if (argc > 3) { /* the largest alignment asked for */
    size_t max = strtoull(argv[3], NULL, 0);
    for (align_shifts = 1; ((size_t)16 << align_shifts) <= max; align_shifts++) {}
  }
  if (nthreads < 1 || nthreads > 64 || rounds < 1) {
    fprintf(stderr, "usage: workload [THREADS [ROUNDS [MAX_ALIGN]]]\n");
    return 2;
  }
  pthread_t t[64];
  uint64_t total = 0;
  for (int i = 0; i < nthreads; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
  for (int i = 0; i < nthreads; i++) {
    void *r;
    CHECK(pthread_join(t[i], &r) == 0);
    total += (uint64_t)(uintptr_t)r;
  }
  for (int i = 0; i < BOXES; i++) {
    uint64_t *w = atomic_exchange(&boxes[i], NULL);
    if (w) {
      CHECK(check_fill(w + 2, w[0] - 16, w[1]));
      free(w);
    }
  }
  /* Large and failing requests: NULL with ENOMEM, nothing else. */
  errno = 0;
  CHECK(malloc(opaque(SIZE_MAX / 2)) == NULL && errno == ENOMEM);
  printf("workload ok checksum=%llu\n", (unsigned long long)total);
  return 0;
}
