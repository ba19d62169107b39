/* common.h - helpers shared by the contract test files.
 *
 * Sizes go through opaque() (tests/lib/tp_test.h) so that the compiler
 * neither folds a call away nor warns about a constant it can see is too
 * large: the point of these tests is to reach the allocator with exactly
 * those values.
 */
#ifndef TP_TEST_COMMON_H
#define TP_TEST_COMMON_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "probe.h"
#include "tp_test.h"

/* glibc 2.36 does not declare the C23 sized frees. Weak, so that a
 * process without them still loads and the test that needs them fails
 * by itself. */
void free_sized(void *p, size_t size) __attribute__((weak));
void free_aligned_sized(void *p, size_t alignment, size_t size) __attribute__((weak));

static inline bool aligned_to(const void *p, size_t a) {
  return ((uintptr_t)p & (a - 1)) == 0;
}

/* Byte i of a block filled with seed s. Depends on both, so that two
 * blocks filled with different seeds never look alike. */
static inline unsigned char pattern_byte(size_t i, unsigned s) {
  return (unsigned char)((i * 7u) ^ (i >> 8) ^ (s * 131u + 17u));
}

static inline void fill(void *p, size_t n, unsigned s) {
  unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    b[i] = pattern_byte(i, s);
}

/* Offset of the first byte that does not match, or n when all match. */
static inline size_t check(const void *p, size_t n, unsigned s) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != pattern_byte(i, s))
      return i;
  return n;
}

/* Offset of the first non-zero byte, or n. */
static inline size_t first_nonzero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return i;
  return n;
}

/* Snapshot of the counters; aborts the test when tierpool is absent. */
static inline void snap(tierpool_stats_t *s) {
  cr_assert_eq(tp_probe_snap(s), 0,
               "tierpool_stats not found: tierpool is not the malloc of this process");
}

/* The criterion worker runs one idle helper thread beside the test; this
 * is the room its allocations may take in a counter delta. Never enough
 * to hide a missing or doubled count of the NOBJ objects a test makes. */
#define NOISE 4

static inline bool delta_ok(uint64_t d, uint64_t want) { return d >= want && d <= want + NOISE; }

#define expect_delta(after, before, field, want, what)                          \
  do {                                                                         \
    uint64_t d_ = (uint64_t)((after).field - (before).field);                  \
    cr_expect(delta_ok(d_, (uint64_t)(want)), "%s: %s grew by %llu, expected %llu", what, \
              #field, (unsigned long long)d_, (unsigned long long)(want));       \
  } while (0)

#endif
