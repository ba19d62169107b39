/* leak_tables.c - the tables leak tracking keeps per block, and what they
 * mean: the mode, the per-tier side arrays, the table of forwarded blocks,
 * and the weights of a sampled block (see leak_int.h); and the stack
 * table's descriptor, tp_leak_tab.
 *
 * They are written by the hooks (leak.c) and read by the reachability scan
 * (leak_scan.c), the report (leak_report.c) and the profile (profile.c):
 * this file sits below all of them, so that none of the readers depends on
 * the hooks, which call the profile.
 */
#include "layout.h"
#include "leak_int.h"
#include "os.h"
#include "sampler.h"

TP_HOOKED_DATA enum tp_leak_mode tp_leak_mode;
TP_HOOKED_DATA tp_leak_tables_t tp_lk;
/* The stack table's descriptor: leak_stack.c fills it, leak_modules.c
 * adds the modules; here, below both. */
TP_HOOKED_DATA tp_leak_tab_t tp_leak_tab;

/* Slots of tier t's side array: one per block its region can hold. */
static size_t side_slots(unsigned t) {
  return ((size_t)1 << tp_layout.region_shift) >> (t + TP_MIN_SHIFT);
}

bool tp_leak_tables_init(void) {
  /* One mapping for every tier's side array (MAP_NORESERVE: only the pages
   * written count): one system call at start, not one per tier. */
  size_t slots = 0;
  for (unsigned t = 0; t < tp_layout.ntiers && tp_layout.span; t++) slots += side_slots(t);
  uint64_t *side = slots ? tp_os_map(slots * sizeof(uint64_t), true) : NULL;
  if (slots && !side) return false;
  for (unsigned t = 0; t < tp_layout.ntiers && tp_layout.span; t++) {
    tp_lk.side[t] = side;
    side += side_slots(t);
  }
  tp_lk.fwd = tp_os_map(sizeof(tp_fwd_t) * TP_LEAK_FWD_SLOTS, true);
  return tp_lk.fwd != NULL;
}

uint64_t *tp_leak_side(unsigned t) { return t < TP_MAX_TIERS ? tp_lk.side[t] : NULL; }

typedef struct {
  void (*fn)(const tp_fwd_t *e, void *ctx);
  void *ctx;
} tp_fwd_each_t;

/* A live block of the sampler's own memory, as the entry the table would
 * hold for it (the hooks keep its charge in its state word instead). */
static void sampled_entry(void *p, unsigned t, uint64_t tag, void *ctx) {
  tp_fwd_each_t *e = ctx;
  tp_fwd_t f = {.p = (uintptr_t)p, .n = tp_tier_size(t), .id = TP_STACK_NONE};
  if (tag != TP_SAMPLED_UNTAGGED) {
    f.id = (uint32_t)(tag >> 32);
    f.n = tag & 0xffffffffu;
  }
  e->fn(&f, e->ctx);
}

size_t tp_leak_fwd_each(void (*fn)(const tp_fwd_t *e, void *ctx), void *ctx) {
  const tp_fwd_t *tab = tp_lk.fwd;
  const size_t slots = TP_LEAK_FWD_SLOTS;
  if (!tab) return 0;
  size_t n = tp_sampled_each(sampled_entry, &(tp_fwd_each_t){fn, ctx});
  /* The pages an entry ever started on: an entry's p is its first word, so
   * one that starts on any other page is empty. */
  for (size_t w = 0; w < TP_LEAK_FWD_PAGE_WORDS; w++) {
    for (uint64_t bits = tp_lk.fwd_pages[w]; bits; bits &= bits - 1) {
      size_t pg = w * 64 + (size_t)__builtin_ctzll(bits);
      size_t i = (pg * TP_PAGE_SIZE + sizeof *tab - 1) / sizeof *tab;
      size_t end = ((pg + 1) * TP_PAGE_SIZE + sizeof *tab - 1) / sizeof *tab;
      for (; i < end && i < slots; i++)
        if (tab[i].p) {
          fn(&tab[i], ctx);
          n++;
        }
    }
  }
  return n;
}

/* (leak_int.h) When no stack holds a block there is nothing to classify,
 * and the scan is not made: a sampled run mostly ends so (a block is
 * sampled every 512 KiB on average, and most are freed by exit). Asked in
 * sample mode only: in `all` mode some block is nearly always live at
 * exit, and the stack table is long (tree 14: 0.3 ms to find the live
 * stacks at its end). With a profile the stacks' live counts say it;
 * without, the charged entries. */
static void charged_entry(const tp_fwd_t *e, void *any) {
  if (e->id != TP_STACK_NONE) *(bool *)any = true;
}

bool tp_leak_any_charged(void) {
  if (!tp_lk.counting) {
    /* With the sampler in fast mode only forwarded blocks (the sampler's
     * own among them) are charged; in slow mode pooled ones may be too,
     * and the scan is made. */
    bool any = !tp_fwd_hooked;
    if (!any) tp_leak_fwd_each(charged_entry, &any);
    return any;
  }
  uint32_t nstacks = atomic_load_explicit(&tp_leak_tab.nstacks, memory_order_acquire);
  if (nstacks > TP_LEAK_MAX_STACKS) nstacks = TP_LEAK_MAX_STACKS;
  for (uint32_t id = TP_STACK_OVERFLOW; id < nstacks; id++)
    if (atomic_load_explicit(&tp_leak_tab.stacks[id].live, memory_order_relaxed) > 0) return true;
  return false;
}

/* ------------------------------------------------------------ weights */

/* No libm (the library does not link it): 1 - exp(-x), to about seven
 * digits, which is plenty for weights. */
static double one_minus_exp_neg(double x) { /* x >= 0 */
  if (x < 0.5) { /* the series, which keeps its precision for small x */
    double term = x, sum = 0;
    for (int k = 2; k <= 14; k++) {
      sum += term;
      term *= -x / k;
    }
    return sum;
  }
  if (x > 40) return 1;
  int k = (int)(x / 0.69314718055994530942);
  double r = x - k * 0.69314718055994530942, e = 1, term = 1;
  for (int i = 1; i <= 16; i++) {
    term *= -r / i;
    e += term;
  }
  while (k-- > 0) e *= 0.5;
  return 1 - e;
}

/* What one sampled block of n bytes stands for: count (x count_scale) and
 * bytes (in `all` mode: itself). */
void tp_leak_weights(uint64_t n, int64_t *count, int64_t *bytes) {
  if (tp_leak_mode != TP_LEAKS_SAMPLE) {
    *count = tp_leak_tab.count_scale;
    *bytes = (int64_t)n;
    return;
  }
  double p = one_minus_exp_neg((double)n / tp_lk.mean);
  *count = (int64_t)((double)tp_leak_tab.count_scale / p + 0.5);
  *bytes = (int64_t)((double)n / p + 0.5);
}

typedef struct {
  uintptr_t a;
  uint32_t id;
} tp_fwd_hit_t;

static void fwd_holding(const tp_fwd_t *f, void *ctx) {
  tp_fwd_hit_t *h = ctx;
  if (f->id && h->a - f->p < (f->n ? f->n : 1)) h->id = f->id;
}

uint32_t tp_leak_fwd_id_at(uintptr_t a) {
  tp_fwd_hit_t hit = {a, 0};
  tp_leak_fwd_each(fwd_holding, &hit);
  return hit.id;
}
