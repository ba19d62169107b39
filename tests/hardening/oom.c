/* oom: out-of-memory behaviour, run by hardening_tests.py.
 *
 *   oom exhaust SIZE     allocate SIZE-byte blocks until malloc says no
 *                        (run under ulimit -v): NULL with ENOMEM, the other
 *                        calls fail cleanly too, and after freeing
 *                        everything as much can be had again
 *   oom huge             requests no machine can serve: NULL with ENOMEM
 *                        from every entry point, the old block of a failed
 *                        realloc intact
 *   oom failseq COUNT    COUNT allocations through every entry point, each
 *                        one allocation; prints the allocations made before
 *                        ("base=B") and the indexes that failed
 *                        ("failed=i,j"); under TIERPOOL_FAIL
 *   oom limit BYTES      run with TIERPOOL_LIMIT=BYTES: the cap, at tier
 *                        size for pooled blocks, for every entry point
 *   oom realloc_huge     realloc of a forwarded block (2 MiB, 4 MiB) to
 *                        1 TiB: NULL with ENOMEM, as malloc(1 TiB)
 *   oom aligned_full     run with TIERPOOL_REGION_SIZE=64M: with the 1 MiB
 *                        region full, aligned requests that fall back to
 *                        mimalloc still get their alignment
 */
#include <errno.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "common.h"

#define ENOMEM_NULL(expr) do { errno = 0; CHECK((expr) == NULL); CHECK(errno == ENOMEM); } while (0)

static int exhaust(size_t size) {
  struct rlimit rl;
  size_t cap = (size_t)64 << 30; /* a bound in case the limit is missing */
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur < cap) cap = rl.rlim_cur;
  size_t max = cap / size;
  /* The index array is mapped once, for both rounds: grown with realloc,
   * it would compete with the blocks for the address space, and in the
   * second round (the blocks' memory still mapped by the allocator, as
   * pooled memory stays) it would run out first. */
  void **p = mmap(NULL, (max + 1) * sizeof *p, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  CHECK(p != MAP_FAILED);
  size_t rounds[2];
  for (int round = 0; round < 2; round++) {
    size_t n = 0;
    for (;;) {
      errno = 0;
      char *b = malloc(opaque(size));
      if (!b) {
        CHECK(errno == ENOMEM);
        break;
      }
      b[0] = 1;
      b[size - 1] = 2;
      p[n++] = b;
      CHECK(n < max);
    }
    /* Full: the other entry points fail cleanly as well. */
    void *q;
    errno = 0;
    void *c = calloc(opaque(size), 1);
    CHECK(c || errno == ENOMEM);
    free(c);
    int r = posix_memalign(&q, 64, opaque(size));
    CHECK(r == 0 || r == ENOMEM);
    if (r == 0) free(q);
    if (n) {
      errno = 0;
      char *g = realloc(p[0], opaque(size * 4));
      if (g) p[0] = g;
      else CHECK(errno == ENOMEM && ((char *)p[0])[0] == 1);
    }
    rounds[round] = n;
    for (size_t i = 0; i < n; i++) free(p[i]);
  }
  munmap(p, (max + 1) * sizeof *p);
  printf("exhaust %zu: %zu blocks, then %zu after freeing them\n", size, rounds[0], rounds[1]);
  CHECK(rounds[0] > 0);
  CHECK(rounds[1] >= rounds[0] - rounds[0] / 10); /* nothing much leaked */
  return 0;
}

static int huge(void) {
  size_t tera = (size_t)1 << 40;
  ENOMEM_NULL(malloc(opaque(tera)));
  ENOMEM_NULL(malloc(opaque(SIZE_MAX)));
  ENOMEM_NULL(malloc(opaque(SIZE_MAX / 2)));
  ENOMEM_NULL(calloc(opaque(tera), 1));
  ENOMEM_NULL(calloc(opaque(1 << 20), opaque(1 << 20)));
  ENOMEM_NULL(aligned_alloc(4096, opaque(tera)));
  ENOMEM_NULL(memalign(64, opaque(tera)));
  ENOMEM_NULL(valloc(opaque(tera)));
  void *q = NULL;
  CHECK(posix_memalign(&q, 256, opaque(tera)) == ENOMEM && q == NULL);
  for (size_t n = 64; n <= 256 * KiB; n *= 8) { /* pooled; forwarded: realloc_huge */
    char *p = malloc(n);
    CHECK(p);
    fill(p, n, 7);
    ENOMEM_NULL(realloc(p, opaque(tera)));
    CHECK(check_fill(launder(p), n, 7));
    free(p);
  }
  puts("huge: NULL with ENOMEM from every entry point");
  return 0;
}

/* One allocation per index, through the entry points in turn. A realloc
 * that moves its block to another tier is one allocation too. */
static int realloc_huge(void) {
  for (size_t n = 2 * MiB; n <= 4 * MiB; n *= 2) {
    char *p = malloc(n);
    CHECK(p);
    fill(p, n, 7);
    errno = 0;
    void *q = realloc(p, opaque((size_t)1 << 40));
    if (q) {
      fprintf(stderr, "realloc(%zu-byte block, 1 TiB) = %p (malloc(1 TiB) is NULL/ENOMEM)\n", n, q);
      free(q);
      return 1;
    }
    CHECK(errno == ENOMEM);
    CHECK(check_fill(launder(p), n, 7));
    free(p);
  }
  puts("realloc_huge: NULL with ENOMEM");
  return 0;
}

static int aligned_full(void) {
  int (*stats)(tierpool_stats_t *) = tp_stats_fn();
  void *keep[64];
  for (int i = 0; i < 64; i++) CHECK((keep[i] = malloc(opaque(MiB))) != NULL);
  tierpool_stats_t s;
  stats(&s);
  CHECK(s.tiers[s.ntiers - 1].size == MiB && s.tiers[s.ntiers - 1].live == 64);
  int bad = 0;
  for (size_t a = 32; a <= MiB; a *= 2) {
    void *p[3] = {NULL, NULL, NULL};
    CHECK(posix_memalign(&p[0], a, opaque(MiB - a / 2)) == 0);
    p[1] = aligned_alloc(a, opaque(MiB / 2 + 1));
    p[2] = memalign(a, opaque(MiB));
    for (int k = 0; k < 3; k++) {
      CHECK(p[k]);
      if ((uintptr_t)p[k] & (a - 1)) {
        fprintf(stderr, "%s(%zu, ...) = %p: misaligned\n",
                k == 0 ? "posix_memalign" : k == 1 ? "aligned_alloc" : "memalign", a, p[k]);
        bad++;
      }
      free(p[k]);
    }
  }
  stats(&s);
  CHECK(s.discarded_by_reason[TIERPOOL_REASON_POOL_FULL] >= 3);
  for (int i = 0; i < 64; i++) free(keep[i]);
  if (bad) return 1;
  puts("aligned_full: aligned");
  return 0;
}

static int failseq(int count) {
  int (*stats)(tierpool_stats_t *) = tp_stats_fn();
  /* Static: under TIERPOOL_FAIL=random, an allocation of the test's own
   * before the loop could fail. */
  static void *p[100000];
  static int failed[100000];
  CHECK(count <= 100000);
  tierpool_stats_t s;
  stats(&s);
  /* Every allocation so far, pooled or forwarded, succeeded or not. */
  unsigned long long base = s.total_get + s.discarded;
  int nfailed = 0;
  for (int i = 0; i < count; i++) {
    errno = 0;
    int r = 0;
    switch (i % 8) {
    case 0: p[i] = malloc(opaque(100)); break;
    case 1: p[i] = calloc(opaque(10), 30); break;
    case 2: r = posix_memalign(&p[i], 64, opaque(200)); break;
    case 3: p[i] = aligned_alloc(4096, opaque(100)); break;
    case 4: p[i] = memalign(32, opaque(3000)); break;
    case 5: p[i] = malloc(opaque(3 * MiB)); break; /* forwarded */
    case 6: p[i] = malloc(opaque(24)); if (p[i]) fill(p[i], 24, (uint64_t)i); break;
    default: /* grows the block of index i-1 into another tier */
      if (!p[i - 1]) { p[i] = malloc(opaque(5000)); break; }
      p[i] = realloc(p[i - 1], opaque(5000));
      if (p[i]) {
        CHECK(check_fill(p[i], 24, (uint64_t)(i - 1)));
        p[i - 1] = NULL;
      } else {
        CHECK(check_fill(launder(p[i - 1]), 24, (uint64_t)(i - 1)));
      }
      break;
    }
    if (i % 8 == 2) {
      CHECK(r == 0 || r == ENOMEM);
      if (r) { p[i] = NULL; CHECK(errno == 0); errno = ENOMEM; }
    }
    if (!p[i]) {
      CHECK(errno == ENOMEM);
      failed[nfailed++] = i;
    }
  }
  printf("base=%llu\nfailed=", base);
  for (int k = 0; k < nfailed; k++) printf(k ? ",%d" : "%d", failed[k]);
  printf("\n");
  for (int i = 0; i < count; i++) free(p[i]);
  return 0;
}

static int limit(size_t cap) {
  enum { MAXB = 100000 };
  static void *b[MAXB];
  size_t n = 0;
  /* 65537 bytes is a 128 KiB block: charged at 128 KiB. */
  while (n < MAXB && (b[n] = malloc(opaque(65537))) != NULL) n++;
  CHECK(errno == ENOMEM);
  size_t want = cap / (128 * KiB);
  printf("limit %zu: %zu blocks of 65537 bytes (tier 128K), expected about %zu\n", cap, n, want);
  CHECK(n <= want && n + 2 >= want);
  /* Every entry point stops at the cap. */
  void *q = NULL;
  ENOMEM_NULL(malloc(opaque(128 * KiB)));
  ENOMEM_NULL(calloc(opaque(1000), 100));
  ENOMEM_NULL(aligned_alloc(4096, opaque(100000)));
  ENOMEM_NULL(memalign(4096, opaque(100000)));
  ENOMEM_NULL(valloc(opaque(100000)));
  ENOMEM_NULL(malloc(opaque(3 * MiB))); /* forwarded */
  ENOMEM_NULL(calloc(opaque(3), MiB));  /* forwarded */
  CHECK(posix_memalign(&q, 64, opaque(100000)) == ENOMEM);
  fill(b[0], 65537, 3);
  ENOMEM_NULL(realloc(b[0], opaque(200000)));
  CHECK(check_fill(launder(b[0]), 65537, 3));
  /* Staying in the tier needs no room. */
  CHECK(realloc(b[0], opaque(100000)) == b[0]);
  /* Freeing makes room again, for one block of the size freed. */
  free(b[--n]);
  CHECK((b[n] = malloc(opaque(120000))) != NULL);
  n++;
  ENOMEM_NULL(malloc(opaque(65537)));
  free(b[--n]);
  free(b[--n]);
  CHECK((q = realloc(b[0], opaque(200000))) != NULL); /* 256 KiB tier */
  b[0] = q;
  CHECK(check_fill(q, 65537, 3));
  for (size_t i = 0; i < n; i++) free(b[i]);

  /* Forwarded blocks count at their usable size. */
  n = 0;
  while (n < MAXB && (b[n] = malloc(opaque(3 * MiB))) != NULL) n++;
  size_t usable = n ? malloc_usable_size(b[0]) : 3 * MiB;
  printf("limit %zu: %zu blocks of 3 MiB (forwarded, %zu usable), expected about %zu\n", cap, n,
         usable, cap / usable);
  CHECK(n <= cap / usable && n + 1 >= cap / usable);
  /* What is left is less than a 3 MiB block, and pooled requests share it. */
  size_t left = 0;
  while ((b[n] = malloc(opaque(256 * KiB))) != NULL) n++, left++;
  CHECK(left * 256 * KiB < usable);
  for (size_t i = 0; i < n; i++) free(b[i]);

  /* All of it can be had again. */
  n = 0;
  while (n < MAXB && (b[n] = malloc(opaque(65537))) != NULL) n++;
  CHECK(n <= want && n + 2 >= want);
  for (size_t i = 0; i < n; i++) free(b[i]);
  puts("limit ok");
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "exhaust") && argc > 2) return exhaust(strtoull(argv[2], NULL, 0));
  if (!strcmp(mode, "huge")) return huge();
  if (!strcmp(mode, "failseq") && argc > 2) return failseq(atoi(argv[2]));
  if (!strcmp(mode, "limit") && argc > 2) return limit(strtoull(argv[2], NULL, 0));
  if (!strcmp(mode, "realloc_huge")) return realloc_huge();
  if (!strcmp(mode, "aligned_full")) return aligned_full();
  fprintf(stderr, "usage: oom exhaust SIZE | huge | failseq COUNT | limit BYTES | realloc_huge | aligned_full\n");
  return 2;
}
