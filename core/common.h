/* common.h - compiler helpers, power-of-two arithmetic and the two
 * assertion levels, shared by every part of tierpool. */
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
/* Code every process runs, small or not: the start, malloc, free and their
 * first refills. GCC places it in .text.hot, which the linker puts at the
 * start of .text, next to .init, the PLT and the cold (slow) paths: the
 * kernel maps a library's pages 64 KiB around each one touched, so code
 * spread over the library made all of it resident in every process. */
#define TP_RESIDENT __attribute__((hot))
/* Globals every process writes or reads at start or on its first mallocs,
 * kept together in .data: left in the zero-initialised data, they lay
 * between arrays no small process touches and cost eight pages where they
 * fill two (preload.resident_code counts them). */
#define TP_START_DATA __attribute__((section(".data.tp_start")))
/* Globals written when a layer installs hooks (leak tracking, the heap
 * profile: at start, on its first capture, at its exit report), together
 * in a page of the zeroed data that such a process touches, where spread
 * among the other globals they were a page each (a first touch costs
 * several microseconds on some virtual machines). The link puts them
 * there (preload/hooked.ld): each unit of a link-time-optimised build
 * placed its own part of the section apart. */
#define TP_HOOKED_DATA __attribute__((section(".bss.tp_hooked")))
/* After them (preload/hooked.ld): an array whose first entries are written
 * as early, the rest later or never. */
#define TP_HOOKED_TAIL __attribute__((section(".bss.tp_hooked_tail")))

#ifndef TP_COUNTERS
#define TP_COUNTERS 1
#endif

/* ------------------------------------------------------------ powers of two */

TP_HOT int tp_is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* floor(log2(v)) for v >= 1. */
TP_HOT unsigned tp_log2(uint64_t v) { return 63u - (unsigned)__builtin_clzll(v); }

/* Smallest power of two >= v (1 for 0 and 1); 0 when it does not fit. */
TP_HOT uint64_t tp_round_pow2(uint64_t v) {
  if (v <= 1) return 1;
  if (v > (UINT64_MAX >> 1) + 1) return 0;
  return (uint64_t)1 << (tp_log2(v - 1) + 1);
}

/* ------------------------------------------------------------ checks */

/* Always-on check: writes a raw message and aborts, never allocates. */
#define TP_CHECK(cond, msg)                                                    \
  do {                                                                         \
    if (tp_unlikely(!(cond))) tp_die("internal error at %s:%d: %s", __FILE__, __LINE__, msg); \
  } while (0)
/* Debug-only check (TP_DEBUG: the sanitizer builds): compiled out in
 * release, still type-checked. */
#ifdef TP_DEBUG
#define TP_DCHECK(cond) TP_CHECK(cond, #cond)
#else
#define TP_DCHECK(cond) while (0 && (cond))
#endif

#endif
