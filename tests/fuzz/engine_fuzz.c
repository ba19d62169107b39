/* engine_fuzz.c - libFuzzer harness for the engine (core/ linked
 * directly, no interposition).
 *
 * Each input is a program: a sequence of operations on 64 slots, decoded
 * from the bytes. Every operation checks what the malloc contract promises:
 *   - a NULL result comes with errno ENOMEM, and only when it may (a
 *     request no machine can serve, or TIERPOOL_FAIL / TIERPOOL_LIMIT on);
 *   - every block is 16-byte aligned, an aligned request to its alignment,
 *     a pooled block to its tier size;
 *   - tp_usable_size >= the length asked for (the tier size when pooled);
 *   - calloc memory reads as zero;
 *   - realloc keeps the content up to the smaller length, and a failed
 *     realloc leaves the old block as it was;
 *   - no two live blocks overlap (each carries its own pattern, checked
 *     before every free and realloc).
 * At the end every block is freed and the counters of tp_stats_collect
 * must balance again: as many puts as gets, per tier, since the input
 * began.
 *
 * Run it with the environment of the mode to fuzz, e.g. the defaults, or
 * TIERPOOL_HARDEN=full TIERPOOL_LIMIT=64M TIERPOOL_FAIL=random=0.02.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "snapshot.h"
#define TP_TEST_CHECK_ABORTS /* a failed check is a crash libFuzzer keeps */
#include "tp_test.h"

#define SLOTS 64
#define EDGE 128 /* bytes checked at each end of a block (the middle too, for small ones) */

typedef struct {
  unsigned char *p;
  size_t n;
  uint8_t tag;
} slot_t;

static slot_t slots[SLOTS];

/* ------------------------------------------------------------ input */

typedef struct {
  const uint8_t *d;
  size_t len, pos;
} input_t;

static uint8_t byte(input_t *in) { return in->pos < in->len ? in->d[in->pos++] : 0; }
static uint32_t word(input_t *in) {
  uint32_t w = byte(in);
  w |= (uint32_t)byte(in) << 8;
  return w | (uint32_t)byte(in) << 16;
}

/* A length: mostly around the tier edges, sometimes anywhere up to 4 MiB,
 * rarely absurd. */
static size_t size_of(input_t *in) {
  uint8_t c = byte(in);
  uint32_t w = word(in);
  switch (c % 8) {
  case 0: return w % 64;
  case 1: return w % 4096;
  case 2: case 3: { /* 2^k - 1, 2^k, 2^k + 1 for k = 0 .. 22 */
    size_t k = (size_t)1 << (w % 23);
    return k - 1 + (w >> 8) % 3;
  }
  case 4: return w % (1u << 20);
  case 5: return w % (4u << 20);
  case 6: return c & 0x80 ? SIZE_MAX - (w % 4096) : (size_t)1 << (40 + w % 20);
  default: return w % 300;
  }
}

/* ------------------------------------------------------------ checks */

static bool may_fail(size_t n) {
  return n > ((size_t)1 << 34) || tp_config.fail.mode != TP_FAIL_OFF || tp_config.limit != 0;
}

static unsigned char pat(uint8_t tag, size_t i) { return (unsigned char)(tag ^ (i * 7)); }

static void fill(slot_t *s) {
  size_t n = s->n;
  if (n <= 3 * EDGE) {
    for (size_t i = 0; i < n; i++) s->p[i] = pat(s->tag, i);
  } else {
    for (size_t i = 0; i < EDGE; i++) s->p[i] = pat(s->tag, i);
    for (size_t i = n - EDGE; i < n; i++) s->p[i] = pat(s->tag, i);
  }
}

/* The first m bytes still hold the pattern written for s. */
static void verify(const slot_t *s, const unsigned char *p, size_t m) {
  if (m > s->n) m = s->n;
  if (s->n <= 3 * EDGE) {
    for (size_t i = 0; i < m; i++) CHECK(p[i] == pat(s->tag, i));
  } else {
    for (size_t i = 0; i < EDGE && i < m; i++) CHECK(p[i] == pat(s->tag, i));
    for (size_t i = s->n - EDGE; i < m; i++) CHECK(p[i] == pat(s->tag, i));
  }
}

/* A fresh block of n bytes asked with alignment align. */
static void check_block(void *p, size_t n, size_t align) {
  uintptr_t a = (uintptr_t)p;
  CHECK((a & 15) == 0);
  CHECK((a & (align - 1)) == 0);
  size_t usable = tp_usable_size(p);
  CHECK(usable >= n);
  if (tp_is_pooled(p)) {
    CHECK(usable == tp_tier_size(tp_tier_of_ptr(p)));
    CHECK((a & (usable - 1)) == 0); /* naturally aligned */
  }
}

/* realloc past RAM + swap fails as malloc does (it once returned a block
 * mimalloc had mapped with MAP_NORESERVE, and later operations copied
 * terabytes). TP_FUZZ_LENIENT_HUGE=1 frees such a block at once instead
 * of failing, to fuzz on past that bug. */
static bool huge_block(void *q, size_t n) {
  if (!q || n <= ((size_t)1 << 34)) return false;
  static int lenient = -1;
  if (lenient < 0) lenient = getenv("TP_FUZZ_LENIENT_HUGE") != NULL;
  CHECK(lenient);
  tp_free(q);
  return true;
}

static unsigned fwd_nulls; /* NULLs for requests past the tiers, which may count as discarded */

static bool null_ok(void *p, size_t n) {
  if (p) return false;
  CHECK(may_fail(n));
  CHECK(errno == ENOMEM);
  if (n > tp_layout.max_size) fwd_nulls++;
  return true;
}

/* ------------------------------------------------------------ operations */

static void drop(slot_t *s) {
  if (!s->p) return;
  verify(s, s->p, s->n);
  tp_free(s->p);
  s->p = NULL;
}

static void put(slot_t *s, void *p, size_t n, uint8_t tag) {
  s->p = p;
  s->n = n;
  s->tag = tag;
  fill(s);
}

/* A realloc of slot s to n bytes returned q: the block keeps its content
 * up to the smaller length, and the slot takes it with a new pattern. */
static void moved(slot_t *s, unsigned char *q, size_t n, uint8_t tag) {
  check_block(q, n, 16);
  slot_t old = *s;
  verify(&old, q, n);
  put(s, q, n, tag);
}

static void *thread_body(void *arg) {
  input_t *in = arg;
  /* Frees some blocks of the main thread and allocates in their place. */
  for (int k = 0; k < 8; k++) {
    slot_t *s = &slots[byte(in) % SLOTS];
    drop(s);
    size_t n = byte(in) * 33u;
    errno = 0;
    void *p = tp_malloc(n ? n : 1);
    if (null_ok(p, n)) continue;
    check_block(p, n, 16);
    put(s, p, n, byte(in));
  }
  tp_trim(0);
  return NULL;
}

static void op(input_t *in) {
  uint8_t code = byte(in);
  slot_t *s = &slots[byte(in) % SLOTS];
  uint8_t tag = byte(in);
  errno = 0;
  switch (code % 12) {
  case 0: case 1: case 2: { /* malloc */
    size_t n = size_of(in);
    drop(s);
    void *p = tp_malloc(n ? n : 1); /* malloc(0) is malloc(1) at the wrapper */
    if (null_ok(p, n)) break;
    check_block(p, n, 16);
    put(s, p, n, tag);
    break;
  }
  case 3: { /* calloc */
    size_t k = byte(in) % 17, m = size_of(in) / 8;
    drop(s);
    size_t n;
    unsigned char *p = tp_calloc(k, m);
    if (__builtin_mul_overflow(k, m, &n)) {
      CHECK(p == NULL && errno == ENOMEM);
      break;
    }
    if (n == 0) { /* calloc(0, m): a unique block or NULL, never a fault */
      tp_free(p);
      break;
    }
    if (null_ok(p, n)) break;
    check_block(p, n, 16);
    size_t step = n > 65536 ? n / 4096 : 1;
    for (size_t i = 0; i < n; i += step) CHECK(p[i] == 0);
    CHECK(p[n - 1] == 0);
    put(s, p, n, tag);
    break;
  }
  case 4: case 5: { /* realloc */
    size_t n = size_of(in);
    if (!s->p) break;
    verify(s, s->p, s->n);
    if (n == 0) { /* frees, returns NULL */
      CHECK(tp_realloc(s->p, 0) == NULL);
      s->p = NULL;
      break;
    }
    unsigned char *q = tp_realloc(s->p, n);
    if (huge_block(q, n)) {
      s->p = NULL;
      break;
    }
    if (!q) {
      CHECK(may_fail(n) && errno == ENOMEM);
      if (n > tp_layout.max_size) fwd_nulls++;
      verify(s, s->p, s->n); /* untouched */
      break;
    }
    moved(s, q, n, tag);
    break;
  }
  case 6: case 7: { /* aligned */
    size_t align = (size_t)1 << (byte(in) % 23); /* 1 B .. 4 MiB */
    size_t n = size_of(in) % (8u << 20);
    drop(s);
    void *p = tp_aligned(align, n ? n : 1);
    if (null_ok(p, n)) break;
    check_block(p, n, align < 16 ? 16 : align);
    put(s, p, n, tag);
    break;
  }
  case 8: /* free */
    drop(s);
    break;
  case 9: { /* reallocarray, overflow included */
    size_t k = byte(in), m = size_of(in);
    if (!s->p) break;
    size_t n;
    bool ovf = __builtin_mul_overflow(k, m, &n);
    if (!ovf && n == 0) break;
    unsigned char *q = tp_reallocarray(s->p, k, m);
    if (!ovf && huge_block(q, n)) {
      s->p = NULL;
      break;
    }
    if (!q) {
      CHECK(errno == ENOMEM && (ovf || may_fail(n)));
      if (!ovf && n > tp_layout.max_size) fwd_nulls++;
      verify(s, s->p, s->n);
      break;
    }
    moved(s, q, n, tag);
    break;
  }
  case 10: /* give memory back; the thread's cache goes central */
    if (tag & 1) tp_trim(0);
    else tp_cache_flush_current();
    break;
  default: { /* another thread frees and allocates, then exits */
    if (tag % 8) break; /* rare: a thread costs more than many operations */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_body, in) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    break;
  }
  }
}

/* ------------------------------------------------------------ entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (atomic_load(&tp_state) == TP_UNINIT) tp_init();
  static tierpool_stats_t before, after;
  tp_stats_collect(&before);
  fwd_nulls = 0;
  input_t in = {data, size, 0};
  for (int ops = 0; in.pos < in.len && ops < 1000; ops++) op(&in);
  for (int i = 0; i < SLOTS; i++) drop(&slots[i]);
  tp_stats_collect(&after);
  /* Everything handed out was given back. */
  for (unsigned t = 0; t < after.ntiers; t++)
    CHECK(after.tiers[t].get - before.tiers[t].get == after.tiers[t].put - before.tiers[t].put);
  CHECK(after.total_get - before.total_get == after.total_put - before.total_put);
  uint64_t disc = after.discarded - before.discarded;
  uint64_t fwd_frees = after.forwarded_frees - before.forwarded_frees;
  CHECK(disc >= fwd_frees && disc - fwd_frees <= fwd_nulls);
  return 0;
}
