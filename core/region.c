/* region.c - reserving the span that holds every tier's region, and the
 * switch to slow mode (layout.h). Committing pages is the central pool's
 * job (central.c), which owns the fronts. */
#include "config.h"
#include "layout.h"
#include "os.h"

tp_layout_t tp_layout;
bool tp_slow_mode;

int tp_layout_reserve(void) {
  unsigned max_shift = tp_log2(tp_config.max_tier);
  unsigned ntiers = max_shift - TP_MIN_SHIFT + 1;
  unsigned want = tp_log2(tp_config.region_size), shift = want;
  unsigned min_shift = max_shift + 2 < 24 ? 24 : max_shift + 2;
  TP_CHECK(ntiers <= TP_MAX_TIERS, "TIERPOOL_MAX_TIER allows more tiers than the stats hold");
  /* Halve the regions while the kernel says no (ulimit -v, vm.max_map_count,
   * overcommit policy): a smaller pool beats no pool. */
  for (; shift >= min_shift; shift--) {
    size_t span = (size_t)ntiers << shift;
    /* Over-reserve by one region so the span can start region-aligned:
     * then the offset of a block within its region equals its address
     * modulo the region size, and blocks are naturally aligned. */
    size_t region = (size_t)1 << shift;
    char *m = tp_os_reserve(span + region);
    if (!m) continue;
    uintptr_t start = ((uintptr_t)m + region - 1) & ~(uintptr_t)(region - 1);
    if (start > (uintptr_t)m) tp_os_unmap(m, start - (uintptr_t)m);
    uintptr_t tail = (uintptr_t)m + span + region - (start + span);
    if (tail) tp_os_unmap((void *)(start + span), tail);
    tp_layout.base = start;
    tp_layout.region_shift = shift;
    tp_layout.ntiers = ntiers;
    tp_layout.max_size = tp_config.max_tier;
    tp_layout.span = span; /* tp_is_pooled is false until here */
    tp_layout.fast_max = tp_layout.max_size;
    tp_layout.fast_span = span;
    if (shift != want)
      tp_warn("could reserve only %zu MiB per tier (TIERPOOL_REGION_SIZE asked for %llu MiB)",
              region >> 20, (unsigned long long)(tp_config.region_size >> 20));
    return 0;
  }
  tp_warn("could not reserve address space for the pools (%s); "
          "every request goes to mimalloc", "mmap failed");
  return -1;
}

void tp_layout_slow_mode(void) {
  tp_slow_mode = true;
  tp_layout.fast_max = 0;
  tp_layout.fast_span = 0;
}
