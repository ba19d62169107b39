/* region.c - placing the span that holds every tier's region, and the
 * switch to slow mode (layout.h). Committing pages is the central pool's
 * job (central.c), which owns the fronts. */
#include "config.h"
#include "layout.h"
#include "os.h"
#include "random.h"

TP_START_DATA tp_layout_t tp_layout;
TP_START_DATA bool tp_slow_mode;

/* ------------------------------------------------------------ placement */

/* Where the span goes when nothing reserves it: an address range that the
 * kernel's top-down mmap reaches only after about 50 TiB of mappings, above
 * mimalloc's segment hints (2-30 TiB) and below position-independent
 * executables and their brk heap (85 TiB and up). */
#define TP_PLACE_LO ((uintptr_t)64 << 40)
#define TP_PLACE_HI ((uintptr_t)80 << 40)

static void set_layout(uintptr_t base, unsigned shift, unsigned ntiers, bool lazy) {
  tp_layout.base = base;
  tp_layout.region_shift = shift;
  tp_layout.ntiers = ntiers;
  tp_layout.lazy = lazy;
  tp_layout.max_size = tp_config.max_tier;
  tp_layout.span = (size_t)ntiers << shift; /* tp_is_pooled is false until here */
  tp_layout.fast_max = tp_layout.max_size;
  tp_layout.fast_span = tp_layout.span;
}

/* A region-aligned base at a random place in the placement range whose
 * regions' first and last pages are unmapped; 0 if none was found. The
 * rest is checked page by page as the fronts advance (MAP_FIXED_NOREPLACE
 * fails on anything that lives there). */
static uintptr_t place(unsigned ntiers, unsigned shift) {
#if defined(__SANITIZE_THREAD__)
  (void)ntiers, (void)shift;
  return 0; /* TSan's shadow and meta memory own these addresses */
#else
  uintptr_t region = (uintptr_t)1 << shift, span = (uintptr_t)ntiers << shift;
  if (span >= TP_PLACE_HI - TP_PLACE_LO) return 0;
  uint64_t slots = (TP_PLACE_HI - TP_PLACE_LO - span) / region + 1, rng = tp_random_seed();
  for (int attempt = 0; attempt < 8; attempt++) {
    uintptr_t base = TP_PLACE_LO + (tp_rand_next(&rng) % slots) * region;
    bool free_ = true;
    for (unsigned t = 0; t < ntiers && free_; t++)
      free_ = !tp_os_is_mapped((void *)(base + t * region)) &&
              !tp_os_is_mapped((void *)(base + (t + 1) * region - TP_PAGE_SIZE));
    if (free_) return base;
  }
  return 0;
#endif
}

/* The fallback: reserve the whole span PROT_NONE where the kernel likes,
 * halving the regions while it says no (ulimit -v, vm.max_map_count,
 * overcommit policy): a smaller pool beats no pool. Such a reservation
 * counts in full against RLIMIT_AS. */
static int reserve(unsigned ntiers, unsigned want) {
  unsigned min_shift = tp_log2(tp_config.max_tier) + 2 < 24 ? 24 : tp_log2(tp_config.max_tier) + 2;
  for (unsigned shift = want; shift >= min_shift; shift--) {
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
    set_layout(start, shift, ntiers, false);
    if (shift != want)
      tp_warn("could reserve only %zu MiB per tier (TIERPOOL_REGION_SIZE asked for %llu MiB)",
              region >> 20, (unsigned long long)(tp_config.region_size >> 20));
    return 0;
  }
  tp_warn("could not reserve address space for the pools (%s); "
          "every request goes to mimalloc", "mmap failed");
  return -1;
}

int tp_layout_reserve(void) {
  unsigned ntiers = tp_log2(tp_config.max_tier) - TP_MIN_SHIFT + 1;
  unsigned shift = tp_log2(tp_config.region_size);
  TP_CHECK(ntiers <= TP_MAX_TIERS, "TIERPOOL_MAX_TIER allows more tiers than the stats hold");
  /* Nothing is reserved up front: a reservation of ntiers regions (68 GiB
   * by default) counts against RLIMIT_AS, and a program that lowers the
   * limit below it could then map nothing more (no thread stacks, no
   * mimalloc segments). Placed out of the kernel's way instead, the pools
   * map their pages as they grow, and only those count. */
  uintptr_t base = place(ntiers, shift);
  if (base) {
    set_layout(base, shift, ntiers, true);
    return 0;
  }
  return reserve(ntiers, shift);
}

void tp_layout_slow_mode(void) {
  tp_slow_mode = true;
  tp_layout.fast_max = 0;
  tp_layout.fast_span = 0;
}
