/* common.h - compiler helpers and checks shared by every part of tierpool. */
#ifndef TP_COMMON_H
#define TP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "log.h" /* tp_die, tp_warn */

#define tp_likely(x) __builtin_expect(!!(x), 1)
#define tp_unlikely(x) __builtin_expect(!!(x), 0)

#define TP_API __attribute__((visibility("default")))   /* exported symbol */
#define TP_HOT static inline __attribute__((always_inline))
#define TP_COLD __attribute__((noinline, cold))
#define TP_NOINLINE __attribute__((noinline))

#ifndef TP_COUNTERS
#define TP_COUNTERS 1
#endif

/* Always-on check: writes a raw message and aborts, never allocates. */
#define TP_CHECK(cond, msg)                                                    \
  do {                                                                         \
    if (tp_unlikely(!(cond))) tp_die("internal error at %s:%d: %s", __FILE__, __LINE__, msg); \
  } while (0)
/* Debug-only check: compiled out in release, still type-checked. */
#ifdef TP_DEBUG
#define TP_DCHECK(cond) TP_CHECK(cond, #cond)
#else
#define TP_DCHECK(cond) while (0 && (cond))
#endif

#endif
