/* tp_test.h - what every C test program of tierpool shares: CHECK, sizes,
 * and values the compiler cannot see through.
 *
 * CHECK prints the failed condition with its place and exits 1 (it never
 * aborts: a driver tells a failed check, status 1, from a crash, a signal).
 * Programs that run under a fuzzer define TP_TEST_CHECK_ABORTS before the
 * include, so a failed check is a crash libFuzzer keeps an input for.
 */
#ifndef TP_TEST_H
#define TP_TEST_H

#include <stddef.h>
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

#endif
