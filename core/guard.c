/* guard.c - limit, fault injection, exact double-free detection, and the
 * calls of the hooks (slow mode, see guard.h). Nothing here runs unless
 * the user asked. */
#include <stdatomic.h>

#include "config.h"
#include "fallback.h"
#include "guard.h"
#include "hardening.h"
#include "hooks.h"
#include "layout.h"
#include "os.h"
#include "random.h"
#include "sampler.h"

static _Atomic uint64_t tp_in_use;   /* bytes charged against TIERPOOL_LIMIT */
static _Atomic uint64_t tp_gets;     /* allocations seen, for TIERPOOL_FAIL */
TP_START_DATA static _Atomic uint64_t tp_rng;      /* TIERPOOL_FAIL=random state */
/* TIERPOOL_HARDEN=full: one bit per block, set while the block is in use. */
TP_START_DATA static _Atomic uint64_t *tp_state_bits[TP_MAX_TIERS];

void tp_guard_init(void) {
  if (!tp_layout.span) return;
  if (tp_config.harden == TP_HARDEN_FULL) {
    for (unsigned t = 0; t < tp_layout.ntiers; t++) {
      size_t blocks = tp_region_size() / tp_tier_size(t);
      size_t bytes = TP_PAGE_UP(blocks / 8);
      void *m = tp_os_map(bytes, true);
      if (!m) {
        tp_warn("TIERPOOL_HARDEN=full: no memory for the state bits; using the default checks");
        break;
      }
      tp_state_bits[t] = m;
    }
  }
  tp_rng = tp_config.fail.seed * TP_GOLDEN_GAMMA + 1;
  tp_guard_refuses = tp_config.limit || tp_config.fail.mode;
  tp_guard_counts = tp_state_bits[0] || tp_config.limit;
  if (tp_state_bits[0] || tp_guard_refuses) tp_layout_slow_mode();
}

/* ------------------------------------------------------------ admit */

static bool fail_injected(void) {
  const tp_fail_spec_t *f = &tp_config.fail;
  if (!f->mode) return false;
  uint64_t k = atomic_fetch_add_explicit(&tp_gets, 1, memory_order_relaxed) + 1;
  switch (f->mode) {
  case TP_FAIL_NTH: return k == f->n;
  case TP_FAIL_EVERY: return k > f->after && (k - f->after) % f->n == 0;
  case TP_FAIL_RANDOM: {
    /* splitmix64 over a shared counter: the same seed fails the same
     * allocations in a single-threaded program. */
    uint64_t z = atomic_fetch_add_explicit(&tp_rng, TP_GOLDEN_GAMMA, memory_order_relaxed);
    return tp_mix64(z) % 1000000 < f->ppm;
  }
  default: return false;
  }
}

TP_START_DATA bool tp_guard_refuses, tp_guard_counts;

bool tp_guard_admit_slow(size_t charge) {
  if (!tp_slow_mode) return true;
  if (tp_in_hook) return true; /* the hooks' own allocations never fail */
  if (fail_injected()) return false;
  if (tp_config.limit &&
      atomic_load_explicit(&tp_in_use, memory_order_relaxed) + charge > tp_config.limit)
    return false;
  return true;
}

/* ------------------------------------------------------------ get/put */

static size_t charge_of(void *p, bool pooled) {
  return pooled ? tp_tier_size(tp_tier_of_ptr(p)) : tp_fwd_usable(p);
}

/* Only with TIERPOOL_HARDEN=full (tp_state_bits[0] set first): the
 * callers test that before the call. */
static void state_bit(void *p, bool set) {
  size_t t = tp_tier_of_ptr(p);
  _Atomic uint64_t *bits = tp_state_bits[t];
  if (!bits) return;
  size_t i = tp_block_index(p, (unsigned)t);
  uint64_t m = (uint64_t)1 << (i & 63);
  if (set) {
    atomic_fetch_or_explicit(&bits[i >> 6], m, memory_order_relaxed);
  } else if (!(atomic_fetch_and_explicit(&bits[i >> 6], ~m, memory_order_relaxed) & m)) {
    tp_report_bad_free("double free (or free of a block never handed out)", p, tp_tier_size(t));
  }
}

void tp_guard_got_slow(void *p, bool pooled) {
  if (pooled && tp_state_bits[0]) state_bit(p, true);
  if (tp_config.limit) atomic_fetch_add_explicit(&tp_in_use, charge_of(p, pooled), memory_order_relaxed);
}

void tp_guard_put_slow(void *p, bool pooled) {
  if (pooled && tp_state_bits[0]) state_bit(p, false);
  if (tp_config.limit) atomic_fetch_sub_explicit(&tp_in_use, charge_of(p, pooled), memory_order_relaxed);
}
