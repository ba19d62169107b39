/* large.h - blocks of 1 MiB and more that the pools do not serve: each in a
 * mapping of its own, kept warm in a small decaying cache after free.
 *
 *   mapping (page aligned, len bytes)
 *   +--------------------+--------------------------------------------+
 *   | tp_large_hdr_t, 64 | the block: len - 64 usable bytes            |
 *   +--------------------+--------------------------------------------+
 *   ^ base               ^ p = base + 64, so p % 4096 == 64
 *
 * A pointer is ours when it sits 64 bytes into a page and the 8 bytes
 * before it hold tp_free_key ^ p (a random key nobody outside knows); the
 * header is on the same page as p, so the test reads nothing p's page does
 * not hold. Any other forwarded pointer is mimalloc's.
 */
#ifndef TP_LARGE_H
#define TP_LARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#pragma GCC visibility push(hidden)

#define TP_LARGE_MIN ((size_t)1 << 20) /* smallest request served here */
#define TP_LARGE_HDR 64                /* header bytes; also the largest alignment served */
#define TP_LARGE_PAGE 4096
#define TP_LARGE_CACHED 0x5a5a5a5a5a5a5a5aull /* xored into magic while the block is cached */

typedef struct tp_large_hdr_s {
  uint64_t magic; /* tp_free_key ^ p live; ^ TP_LARGE_CACHED once freed */
  size_t len;     /* bytes mapped, header included; a multiple of the page */
} tp_large_hdr_t;

enum tp_large_state { TP_LARGE_NOT_OURS = 0, TP_LARGE_LIVE = 1, TP_LARGE_FREED = 2 };

extern uint64_t tp_free_key;

static inline tp_large_hdr_t *tp_large_hdr(const void *p) {
  return (tp_large_hdr_t *)((uintptr_t)p - TP_LARGE_HDR);
}

/* One AND and a compare for a mimalloc block; a load for 1 in 64 of them. */
TP_HOT enum tp_large_state tp_large_state(const void *p) {
  if (((uintptr_t)p & (TP_LARGE_PAGE - 1)) != TP_LARGE_HDR) return TP_LARGE_NOT_OURS;
  uint64_t m = tp_large_hdr(p)->magic ^ tp_free_key ^ (uintptr_t)p;
  return m == 0 ? TP_LARGE_LIVE : m == TP_LARGE_CACHED ? TP_LARGE_FREED : TP_LARGE_NOT_OURS;
}

static inline size_t tp_large_usable(const void *p) { return tp_large_hdr(p)->len - TP_LARGE_HDR; }

/* n >= TP_LARGE_MIN, below the fallback's ceiling. Zeroed when zero is
 * set (a reused mapping is cleared, a fresh one is zero already).
 * NULL with errno ENOMEM when the system has no room even with the cache
 * given back. */
void *tp_large_alloc(size_t n, bool zero);
/* p live and ours (tp_large_state). Keeps the mapping warm or unmaps it. */
void tp_large_free(void *p);
/* p live and ours; n >= 1. mremap: in place when the addresses past the
 * mapping are free, else the kernel moves the pages (no copy). NULL/ENOMEM
 * with p intact. */
void *tp_large_realloc(void *p, size_t n);
/* Unmaps every cached mapping (malloc_trim, an mmap refused for room the
 * cache holds); returns the bytes given back. */
size_t tp_large_release(void);
/* A second free of a block already freed: abort with a message. */
void tp_large_double_free(const void *p) __attribute__((noreturn, cold));

#pragma GCC visibility pop

#endif
