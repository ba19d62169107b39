/* layout.h - the reserved span, its regions, and size -> tier arithmetic.
 *
 *   base                                                     base + span
 *   |  tier 0 (16 B)  |  tier 1 (32 B)  | ... | tier n-1 (max_tier)  |
 *   '-- region_size --'
 *
 * One span of address space is reserved at start (PROT_NONE,
 * MAP_NORESERVE); tier t owns [base + t*region_size, base + (t+1)*region_size)
 * and carves blocks of 16<<t bytes at multiples of 16<<t from its start, so
 * every block is naturally aligned. Whether a pointer is ours is one compare;
 * its tier is one shift. Nothing here is written after init.
 */
#ifndef TP_LAYOUT_H
#define TP_LAYOUT_H

#include <stdbool.h>

#include "common.h"
#include "tierpool.h"

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

#define TP_MIN_SHIFT 4 /* smallest tier: 16 bytes */
#define TP_MIN_SIZE ((size_t)1 << TP_MIN_SHIFT)
#define TP_MAX_TIERS TIERPOOL_MAX_TIERS

typedef struct tp_layout_s {
  uintptr_t base;        /* start of the span; 0 until reserved */
  uintptr_t span;        /* ntiers << region_shift; 0 if no pool */
  size_t max_size;       /* largest pooled request (the largest tier) */
  /* What the fast paths compare against: max_size and span, or 0 and 0 in
   * slow mode (guards or hooks on), which sends every call to the slow
   * paths at no cost to the fast ones. */
  size_t fast_max;
  uintptr_t fast_span;
  unsigned region_shift; /* log2(region size) */
  unsigned ntiers;       /* tiers 0 .. ntiers-1 */
  /* true: the span is an address range that nothing reserves; pages are
   * mapped as the carve fronts advance (central.c). false: the span is
   * reserved PROT_NONE and pages are made accessible with mprotect. */
  bool lazy;
} tp_layout_t;

extern tp_layout_t tp_layout;

TP_HOT size_t tp_tier_size(unsigned t) { return TP_MIN_SIZE << t; }

/* n in [1, max_size]: ceil(log2(max(n, 16))) - 4, with one bit scan. */
/* size_t, not unsigned: the 64-bit index lets the compiler fold the "- 4"
 * into the displacement of the bin address on the fast path. */
TP_HOT size_t tp_tier_of(size_t n) {
  size_t x = (n - 1) | (TP_MIN_SIZE - 1), msb;
#if defined(__x86_64__)
  __asm__("bsrq %1, %0" : "=r"(msb) : "rm"(x)); /* x != 0; no int sign-extension */
#else
  msb = 63 ^ (size_t)__builtin_clzll(x);
#endif
  return msb + 1 - TP_MIN_SHIFT;
}

TP_HOT int tp_is_pooled(const void *p) {
  return (uintptr_t)p - tp_layout.base < tp_layout.span;
}

/* The fast path's view: false for every pointer in slow mode. */
TP_HOT int tp_is_fast_pooled(const void *p) {
  return (uintptr_t)p - tp_layout.base < tp_layout.fast_span;
}

TP_HOT size_t tp_tier_of_ptr(const void *p) {
  return ((uintptr_t)p - tp_layout.base) >> tp_layout.region_shift;
}

TP_HOT uintptr_t tp_region_start(unsigned t) {
  return tp_layout.base + ((uintptr_t)t << tp_layout.region_shift);
}

TP_HOT size_t tp_region_size(void) { return (size_t)1 << tp_layout.region_shift; }

/* Index of block p within its tier t's region. */
TP_HOT size_t tp_block_index(const void *p, unsigned t) {
  return ((uintptr_t)p - tp_region_start(t)) >> (t + TP_MIN_SHIFT);
}

/* Reserves the span for the configured tiers (halving the region size
 * while the kernel refuses, e.g. under ulimit -v). Returns 0, or -1 when no
 * span could be had: everything then goes to mimalloc. (region.c) */
int tp_layout_reserve(void);

/* Slow mode: every malloc and free takes the slow paths (guards or hooks
 * on). Read-only once other threads run. */
extern bool tp_slow_mode;
/* Turns slow mode on: zeroes fast_max and fast_span. */
void tp_layout_slow_mode(void);

#pragma GCC visibility pop

#endif
