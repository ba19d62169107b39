/* tp_test.h - what every C test program of tierpool shares: CHECK, sizes,
 * values the compiler cannot see through, and a seeded random sequence.
 *
 * CHECK prints the failed condition with its place and exits 1 (it never
 * aborts: a driver tells a failed check, status 1, from a crash, a signal).
 * Programs that run under a fuzzer define TP_TEST_CHECK_ABORTS before the
 * include, so a failed check is a crash libFuzzer keeps an input for.
 */
#ifndef TP_TEST_H
#define TP_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

#ifdef TP_TEST_CHECK_ABORTS
#define TP_TEST_FAIL() abort()
#else
#define TP_TEST_FAIL() exit(1)
#endif

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);    \
      TP_TEST_FAIL();                                                          \
    }                                                                          \
  } while (0)

/* A size the compiler cannot fold: requests reach the allocator as given. */
static inline size_t opaque(size_t n) {
  volatile size_t v = n;
  return v;
}

/* A pointer the compiler cannot track: a block used after a realloc that
 * failed on purpose is not mistaken for a use after free. */
static inline void *launder(void *p) {
  void *volatile v = p;
  return v;
}

/* xorshift64*: the same sequence for the same seed on every run, so a
 * failing run is repeated with its seed. *s must not be 0. */
static inline uint64_t rnd(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* Wipes the stack below the caller, where stale copies of pointers from
 * the calls just made would otherwise keep their blocks reachable for a
 * conservative leak scan at exit (LeakSanitizer's own tests do the same). */
__attribute__((noinline, unused)) static void wipe_stack(void) {
  volatile char buf[16384];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = 0;
}

#endif
