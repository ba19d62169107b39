/* region.c - the reserved span and committing its pages. */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "central.h"
#include "config.h"
#include "layout.h"

tp_layout_t tp_layout;

#define TP_COMMIT_GRANULE ((uintptr_t)1 << 20) /* mprotect at least 1 MiB at a time */

int tp_layout_reserve(void) {
  unsigned ntiers = (unsigned)(63 - __builtin_clzll(tp_config.max_tier)) - TP_MIN_SHIFT + 1;
  unsigned shift = (unsigned)(63 - __builtin_clzll(tp_config.region_size));
  unsigned min_shift = (unsigned)(63 - __builtin_clzll(tp_config.max_tier)) + 2;
  if (min_shift < 24) min_shift = 24;
  /* Halve the regions while the kernel says no (ulimit -v, vm.max_map_count,
   * overcommit policy): a smaller pool beats no pool. */
  for (; shift >= min_shift; shift--) {
    size_t span = (size_t)ntiers << shift;
    /* Over-reserve by one region so the span can start region-aligned:
     * then the offset of a block within its region equals its address
     * modulo the region size, and blocks are naturally aligned. */
    size_t region = (size_t)1 << shift;
    void *m = mmap(NULL, span + region, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) continue;
    uintptr_t start = ((uintptr_t)m + region - 1) & ~(uintptr_t)(region - 1);
    if (start > (uintptr_t)m) munmap(m, start - (uintptr_t)m);
    uintptr_t tail = (uintptr_t)m + span + region - (start + span);
    if (tail) munmap((void *)(start + span), tail);
    tp_layout.base = start;
    tp_layout.region_shift = shift;
    tp_layout.ntiers = ntiers;
    tp_layout.max_size = tp_config.max_tier;
    tp_layout.span = span; /* tp_is_pooled is false until here */
    tp_layout.fast_max = tp_layout.max_size;
    tp_layout.fast_span = span;
    if (shift != (unsigned)(63 - __builtin_clzll(tp_config.region_size)))
      tp_warn("could reserve only %zu MiB per tier (TIERPOOL_REGION_SIZE asked for %llu MiB)",
              region >> 20, (unsigned long long)(tp_config.region_size >> 20));
    return 0;
  }
  tp_warn("could not reserve address space for the pools (%s); "
          "every request goes to mimalloc", "mmap failed");
  return -1;
}

int tp_region_commit(unsigned t, uintptr_t start, uintptr_t end) {
  tp_central_t *ct = &tp_central[t];
  uintptr_t rs = tp_region_start(t);
  uint64_t have = atomic_load_explicit(&ct->commit, memory_order_acquire);
  if (end - rs <= have) return 0;
  /* Commit from the highest known front (or from start) to end, rounded up
   * to a granule. Racing committers may overlap: mprotect is idempotent. */
  uintptr_t from = rs + have < start ? rs + have : start;
  from &= ~(uintptr_t)4095;
  uintptr_t region_end = rs + ((uintptr_t)1 << tp_layout.region_shift);
  uintptr_t to = (end + TP_COMMIT_GRANULE - 1) & ~(TP_COMMIT_GRANULE - 1);
  if (to > region_end || to < end) to = region_end;
  if (mprotect((void *)from, to - from, PROT_READ | PROT_WRITE) != 0) {
    /* Try just what is needed before giving up. */
    to = (end + 4095) & ~(uintptr_t)4095;
    if (mprotect((void *)from, to - from, PROT_READ | PROT_WRITE) != 0) return -1;
  }
  uint64_t want = to - rs;
  while (have < want &&
         !atomic_compare_exchange_weak_explicit(&ct->commit, &have, want, memory_order_release,
                                                memory_order_relaxed)) {
  }
  return 0;
}
