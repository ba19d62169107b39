/* leak.c - leak tracking's hooks (see leak.h): the get and put hooks,
 * sampling by bytes, the charges, settling the puts the hooks did not see,
 * and the updates of the table of forwarded blocks. The tables themselves
 * are leak_tables.c's; start, fork and the API are leak_life.c's.
 *
 * Per block, one word says which stack holds it:
 *
 *   pooled:    side[tier][block number] = (stack id << 32) | length asked
 *   forwarded: an entry {pointer, length, stack id} in tp_lk.fwd
 *   sampled:   the block's state word in the sampler's memory (core/sampler.c)
 *
 * 0 (or no entry) means "not charged": a block got before the hooks were
 * installed (ld.so, libc start-up), or not sampled. Its put is ignored.
 *
 * Sampling (TIERPOOL_LEAKS=sample, and the heap profile) is the engine's
 * byte countdown (core/sampler.h): a get of n bytes is sampled with
 * probability p = 1 - exp(-n / mean), and stands for 1/p blocks and n/p
 * bytes, so the report's counts are unbiased estimates. The put recomputes
 * the same weights from n, so they cancel exactly. With the sampler the
 * fast path stays on: a sampled block is served from the sampler's own
 * memory, outside the pools, and the hooks see no other pooled block.
 */
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "options.h"
#include "os.h"
#include "hooks.h"
#include "leak_int.h"
#include "profile.h"
#include "random.h"
#include "sampler.h"
#include "spin.h"
#include "walk.h"

/* ------------------------------------------------------------ charges */

/* The stack's live figures, as blocks come and go, kept for the profile
 * alone (its "live at peak"). Without a profile, the side arrays, the
 * forwarded table and the sampler's state words already say which stack
 * holds every block, so the report counts them there (leak_report.c, with
 * their weights when sampled) and a get or a put writes no line another
 * thread also writes. Two or three locked adds on a shared stack entry
 * were the largest cost after the walk itself in `all` mode, and a third
 * of a sample's cost where four threads allocate from the same sites
 * (`workloads threads` at a sample per 16 KiB: 1.45x plain with them,
 * 1.29x without). Only a stack's first block of a tier sets a bit. */
static inline bool counting(void) { return tp_lk.counting; }

static void charge_counts(tp_stack_t *s, uint64_t n, int sign) {
  if (tp_leak_mode == TP_LEAKS_SAMPLE) {
    int64_t count, bytes;
    tp_leak_weights(n, &count, &bytes);
    atomic_fetch_add_explicit(&s->live, sign, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, sign * count, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bytes, sign * bytes, memory_order_relaxed);
  } else if (counting()) { /* `all` mode: count is live (the profile reads it so) */
    atomic_fetch_add_explicit(&s->live, sign, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bytes, sign * (int64_t)n, memory_order_relaxed);
  }
}

/* Inline: in `all` mode without a profile a get's charge is a bit it
 * mostly finds set, and a put's nothing. */
static inline void charge(uint32_t id, uint64_t n, unsigned bit, int sign) {
  _Atomic uint64_t *tiers = &tp_leak_tab.tiers[id];
  if (sign > 0 && !(atomic_load_explicit(tiers, memory_order_relaxed) & (1ull << bit)))
    atomic_fetch_or_explicit(tiers, 1ull << bit, memory_order_relaxed);
  if (counting()) charge_counts(&tp_leak_tab.stacks[id], n, sign);
}

static uint64_t *side_slot(const void *p, size_t t) {
  return &tp_lk.side[t][((uintptr_t)p - tp_region_start((unsigned)t)) >> (t + TP_MIN_SHIFT)];
}

/* Takes the charge of a side slot and returns it (0 if none), leaving the
 * stack id flagged as freed (TP_SIDE_FREED) for a bad-free report. Atomic
 * because a report may settle the same slot (tp_leak_settle): exactly one
 * of them gets the charge back. The load first keeps the common uncharged
 * case cheap. */
static uint64_t take(uint64_t *slot) {
  _Atomic uint64_t *a = (_Atomic uint64_t *)slot;
  uint64_t v = atomic_load_explicit(a, memory_order_relaxed);
  while (tp_side_charged(v)) {
    uint64_t freed = (v & 0xffffffff00000000ull) | TP_SIDE_FREED;
    if (atomic_compare_exchange_weak_explicit(a, &v, freed, memory_order_relaxed,
                                              memory_order_relaxed))
      return v;
  }
  return 0;
}

/* ------------------------------------------------------------ settling */

/* The engine calls the put hook only from a thread with a live cache, so
 * some puts are never seen: the first free of a thread that has not
 * allocated yet, and frees after the thread's cache was flushed at exit
 * (glibc's own thread clean-up runs after every key destructor). The get
 * hook settles such a block when it is handed out again; a report settles
 * the rest before it counts: every charged block the engine says is free
 * (tp_engine_for_each_free_block, core/walk.h) gives its charge back. */
static bool is_charged(void *ctx, unsigned t, size_t i) {
  (void)ctx;
  return tp_side_charged(atomic_load_explicit((_Atomic uint64_t *)&tp_lk.side[t][i],
                                              memory_order_relaxed));
}

static void settle_block(void *ctx, unsigned t, uintptr_t blk) {
  (void)ctx;
  size_t i = (blk - tp_region_start(t)) >> (t + TP_MIN_SHIFT);
  uint64_t v = take(&tp_lk.side[t][i]);
  if (v) charge((uint32_t)(v >> 32), v & 0xffffffffu, t, -1);
}

void tp_leak_settle(void) {
  /* With the sampler in fast mode no pooled block is charged (a sampled
   * block is a forwarded one): nothing to settle, and no walk over every
   * free block at exit. */
  if (!tp_leak_mode || !tp_layout.span || tp_fwd_hooked) return;
  for (unsigned t = 0; t < tp_layout.ntiers; t++)
    if (tp_lk.side[t]) tp_engine_for_each_free_block(t, is_charged, settle_block, NULL);
}

/* ------------------------------------------------------------ forwarded */

static void fwd_lock(void) { tp_spin_lock(&tp_lk.fwd_lock); }
static void fwd_unlock(void) { tp_spin_unlock(&tp_lk.fwd_lock); }

static size_t fwd_home(uintptr_t p) {
  return tp_addr_home(p, TP_LEAK_FWD_BITS);
}

/* Tracks p; an entry p already had (its put was not seen) is handed back
 * in *old to be settled. False when the table is full. */
static bool fwd_insert(uintptr_t p, uint32_t id, uint64_t n, tp_fwd_t *old) {
  size_t i = fwd_home(p);
  tp_os_touch_for_write(&tp_lk.fwd[i].p);
  fwd_lock();
  while (tp_lk.fwd[i].p && tp_lk.fwd[i].p != p) i = (i + 1) & (TP_LEAK_FWD_SLOTS - 1);
  *old = tp_lk.fwd[i];
  bool ok = old->p || tp_lk.fwd_used < TP_LEAK_FWD_SLOTS / 4 * 3;
  if (ok) {
    if (!old->p) tp_lk.fwd_used++;
    tp_lk.fwd[i] = (tp_fwd_t){.p = p, .n = n, .id = id};
    size_t pg = i * sizeof(tp_fwd_t) / TP_PAGE_SIZE; /* (where the entry starts) */
    tp_lk.fwd_pages[pg / 64] |= 1ull << (pg % 64);
  }
  fwd_unlock();
  return ok;
}

/* Removes p's entry (backward-shift deletion keeps every probe chain whole:
 * no tombstones); false if p was not tracked. */
static bool fwd_remove(uintptr_t p, uint32_t *id, uint64_t *n) {
  const size_t mask = TP_LEAK_FWD_SLOTS - 1;
  fwd_lock();
  size_t i = fwd_home(p);
  while (tp_lk.fwd[i].p && tp_lk.fwd[i].p != p) i = (i + 1) & mask;
  bool found = tp_lk.fwd[i].p == p;
  if (found) {
    *id = tp_lk.fwd[i].id;
    *n = tp_lk.fwd[i].n;
    for (size_t j = (i + 1) & mask; tp_lk.fwd[j].p; j = (j + 1) & mask) {
      size_t home = fwd_home(tp_lk.fwd[j].p);
      /* Move j into the hole at i unless its home lies in (i, j]. */
      if (((j - home) & mask) >= ((j - i) & mask)) {
        tp_lk.fwd[i] = tp_lk.fwd[j];
        i = j;
      }
    }
    tp_lk.fwd[i].p = 0;
    tp_lk.fwd_used--;
  }
  fwd_unlock();
  return found;
}

/* ------------------------------------------------------------ hooks */

/* The tier bit of a forwarded block of n bytes: with the sampler, a block
 * of a tier's size is forwarded because it was sampled (or the tier was
 * full), and counts in the tier it asked for; else "forwarded". */
static unsigned fwd_bit(uint64_t n) {
  return tp_leak_mode == TP_LEAKS_SAMPLE && n <= tp_layout.max_size ? (unsigned)tp_tier_of(n)
                                                                     : TP_LEAK_FWD_BIT;
}

/* The get of hook_get past its common case (below). */
static __attribute__((noinline)) void hook_get_rest(void *p, size_t n, bool pooled, bool sampled) {
  uint64_t *slot = NULL;
  unsigned bit;
  if (pooled) {
    size_t t = tp_tier_of_ptr(p);
    slot = side_slot(p, t);
    bit = (unsigned)t;
    /* Word 0 still holds the free list's link to the next free block: left
     * there, the reachability scan would read it as the program's pointer,
     * and a leaked block would make the one after it "indirect". malloc
     * owes no contents, and the line is already in the cache. */
    ((void **)p)[0] = NULL;
    /* A put not seen gives its charge back. Without running figures
     * (`all` mode, no profile) a charge is only the slot, which the store
     * below overwrites: the slot is not read first. Read first, a side
     * page nothing has touched yet is mapped to the zero page and faults
     * again at the store; in a process whose threads run on several CPUs
     * that second fault flushes the others' TLBs (see check_fresh,
     * core/central.c). */
    if (counting()) {
      uint64_t old = take(slot);
      if (old) charge((uint32_t)(old >> 32), old & 0xffffffffu, bit, -1);
    }
  } else {
    bit = fwd_bit(n);
  }
  if (!sampled) {
    /* A forwarded block is still entered (uncharged): the reachability
     * scan must know every block that may hold pointers. Forwarded blocks
     * are large or rare, so this costs little. */
    tp_fwd_t old;
    if (!pooled && fwd_insert((uintptr_t)p, TP_STACK_NONE, n, &old) && old.p && old.id)
      charge(old.id, old.n, TP_LEAK_FWD_BIT, -1); /* its put was not seen */
    return;
  }
  uint32_t id = tp_stack_capture();
  if (pooled) {
    atomic_store_explicit((_Atomic uint64_t *)slot, (uint64_t)id << 32 | n, memory_order_relaxed);
  } else if (tp_sampled_tag(p, (uint64_t)id << 32 | n)) {
    /* One of the sampler's own blocks: its state word holds the charge,
     * no entry here (core/sampler.c says why). */
  } else {
    tp_fwd_t old;
    if (!fwd_insert((uintptr_t)p, id, n, &old)) {
      atomic_fetch_add_explicit(&tp_leak_tab.dropped, 1, memory_order_relaxed);
      return;
    }
    if (old.p && old.id) charge(old.id, old.n, bit, -1);
  }
  charge(id, n, bit, +1);
  if (tp_profile_on) tp_profile_got(p, id, n, bit);
}

/* Runs with the thread's tp_in_hook set: what libunwind allocates
 * here is served but not hooked. */
static void hook_get(void *p, size_t n, bool pooled, bool sampled) {
  /* A pooled get without running counters or a profile (`all` mode's
   * every get): word 0 cleared (hook_get_rest says why), the stack into
   * the side slot, the tier's bit on the stack. Apart from the rest, it
   * keeps three registers across the capture instead of six. */
  if (pooled && sampled && !counting() && !tp_profile_on) {
    size_t t = tp_tier_of_ptr(p);
    uint64_t *slot = side_slot(p, t);
    ((void **)p)[0] = NULL;
    uint32_t id = tp_stack_capture();
    atomic_store_explicit((_Atomic uint64_t *)slot, (uint64_t)id << 32 | n, memory_order_relaxed);
    charge(id, n, (unsigned)t, +1);
    return;
  }
  hook_get_rest(p, n, pooled, sampled);
}

/* TIERPOOL_LEAKS_FREES: the stack of this free, kept in the freed slot's
 * length word (ids are far below TP_SIDE_FREED) for a later bad-free
 * report; 0 otherwise. */
static uint64_t freed_by(void) {
  return tp_leak_mode == TP_LEAKS_ALL && tp_stats_config.leaks_frees ? tp_stack_capture() : 0;
}

/* A put's slot without a charge to give back (no running counters): it
 * only says "freed", keeping the id for a bad-free report, and this
 * free's stack with the stack kept (TIERPOOL_LEAKS_FREES). A plain store,
 * where take's locked compare-and-swap stalls on the line: the block is
 * not in a free list yet (the engine runs the put hook first), so no get
 * of it and no report's settling can write the slot meanwhile. */
static inline void slot_freed(uint64_t *slot, bool with_stack) {
  _Atomic uint64_t *a = (_Atomic uint64_t *)slot;
  uint64_t v = atomic_load_explicit(a, memory_order_relaxed);
  if (tp_side_charged(v))
    atomic_store_explicit(a, (v & 0xffffffff00000000ull) | TP_SIDE_FREED |
                                 (with_stack ? freed_by() : 0),
                          memory_order_relaxed);
}

/* The put of hook_put past its common case (below). */
static __attribute__((noinline)) void hook_put_rest(void *p, bool pooled) {
  uint32_t id;
  uint64_t n;
  unsigned bit = TP_LEAK_FWD_BIT;
  if (pooled) {
    size_t t = tp_tier_of_ptr(p);
    uint64_t *slot = side_slot(p, t);
    if (!counting()) {
      slot_freed(slot, true);
      return;
    }
    uint64_t v = take(slot);
    if (!v) return;
    if (tp_stats_config.leaks_frees) /* take left the slot freed, with no stack */
      atomic_store_explicit((_Atomic uint64_t *)slot, (v & 0xffffffff00000000ull) | TP_SIDE_FREED |
                            freed_by(), memory_order_relaxed);
    id = (uint32_t)(v >> 32);
    n = v & 0xffffffffu;
    bit = (unsigned)t;
  } else {
    uint64_t tag;
    if (tp_sampled_tier(p, &tag) >= 0) { /* one of the sampler's blocks */
      if (tag == TP_SAMPLED_UNTAGGED) return;
      id = (uint32_t)(tag >> 32);
      n = tag & 0xffffffffu;
    } else if (!fwd_remove((uintptr_t)p, &id, &n) || !id) { /* id 0: not sampled */
      return;
    }
    bit = fwd_bit(n);
  }
  charge(id, n, bit, -1);
  if (tp_profile_on) tp_profile_put(p, id, n, bit);
}

static void hook_put(void *p, bool pooled) {
  /* A pooled block without running counters (`all` mode, no profile),
   * the frees' stacks not kept: exact mode's every free. Apart from the
   * rest, it saves no registers. */
  if (pooled && !counting() && !tp_stats_config.leaks_frees) {
    slot_freed(side_slot(p, tp_tier_of_ptr(p)), false);
    return;
  }
  hook_put_rest(p, pooled);
}

/* ------------------------------------------------------------ life */

void tp_leak_hooks_init(tp_hooks_t *hooks) {
  hooks->get = hook_get;
  hooks->put = hook_put;
}
