/* central.c - the per-tier lock-free batch stacks and the carve front. */
#include "central.h"

tp_central_t tp_central[TP_MAX_TIERS];

#define TP_INDEX_BITS 40
#define TP_INDEX_MASK ((UINT64_C(1) << TP_INDEX_BITS) - 1)
#define TP_LEN_SHIFT 48

static inline uint64_t encode(void *blk, uint64_t gen) {
  uint64_t idx = blk ? (((uintptr_t)blk - tp_layout.base) >> TP_MIN_SHIFT) + 1 : 0;
  return (gen << TP_INDEX_BITS) | idx;
}

static inline void *decode(uint64_t top) {
  uint64_t idx = top & TP_INDEX_MASK;
  return idx ? (void *)(tp_layout.base + ((idx - 1) << TP_MIN_SHIFT)) : NULL;
}

/* Word 1 of a batch head: next batch's head and this batch's length. */
static inline _Atomic uint64_t *link_of(void *blk) { return (_Atomic uint64_t *)blk + 1; }

void tp_central_push(unsigned t, void *head, uint32_t len) {
  tp_central_t *ct = &tp_central[t];
  uint64_t top = atomic_load_explicit(&ct->top, memory_order_relaxed);
  uint64_t next;
  do {
    void *below = decode(top);
    atomic_store_explicit(link_of(head), (uintptr_t)below | ((uint64_t)len << TP_LEN_SHIFT),
                          memory_order_relaxed);
    next = encode(head, (top >> TP_INDEX_BITS) + 1);
  } while (!atomic_compare_exchange_weak_explicit(&ct->top, &top, next, memory_order_release,
                                                  memory_order_relaxed));
  atomic_fetch_add_explicit(&ct->blocks, len, memory_order_relaxed);
}

void *tp_central_pop(unsigned t, uint32_t *len) {
  tp_central_t *ct = &tp_central[t];
  uint64_t top = atomic_load_explicit(&ct->top, memory_order_acquire);
  uint64_t link;
  void *head;
  do {
    head = decode(top);
    if (!head) return NULL;
    /* head may be popped and reused by another thread right now: then the
     * value read is garbage and the CAS below fails on the generation. */
    link = atomic_load_explicit(link_of(head), memory_order_relaxed);
  } while (!atomic_compare_exchange_weak_explicit(
      &ct->top, &top, encode((void *)(uintptr_t)(link & ((UINT64_C(1) << TP_LEN_SHIFT) - 1)),
                             (top >> TP_INDEX_BITS) + 1),
      memory_order_acquire, memory_order_acquire));
  *len = (uint32_t)(link >> TP_LEN_SHIFT);
  atomic_fetch_sub_explicit(&ct->blocks, *len, memory_order_relaxed);
  return head;
}

void *tp_central_carve(unsigned t, uint32_t want, uint32_t *got) {
  tp_central_t *ct = &tp_central[t];
  size_t size = tp_tier_size(t);
  uint64_t region = (uint64_t)1 << tp_layout.region_shift;
  uint64_t front = atomic_load_explicit(&ct->carve, memory_order_relaxed);
  uint64_t n;
  do {
    uint64_t room = (region - front) / size;
    n = room < want ? room : want;
    if (n == 0) { *got = 0; return NULL; }
  } while (!atomic_compare_exchange_weak_explicit(&ct->carve, &front, front + n * size,
                                                  memory_order_relaxed, memory_order_relaxed));
  uintptr_t start = tp_region_start(t) + front;
  if (tp_region_commit(t, start, start + n * size) != 0) {
    /* The kernel is out of memory: hand the carved range back if nobody
     * carved after it; otherwise it stays unused. */
    uint64_t expect = front + n * size;
    atomic_compare_exchange_strong(&ct->carve, &expect, front);
    *got = 0;
    return NULL;
  }
  *got = (uint32_t)n;
  return (void *)start;
}

void tp_central_for_each_head(unsigned t, void (*fn)(unsigned t, uintptr_t head)) {
  tp_central_t *ct = &tp_central[t];
  uintptr_t start = tp_region_start(t), size = tp_tier_size(t);
  uint64_t carved = atomic_load_explicit(&ct->carve, memory_order_acquire);
  uintptr_t head = (uintptr_t)decode(atomic_load_explicit(&ct->top, memory_order_acquire));
  /* Other threads may pop and reuse heads meanwhile: every address is
   * checked against the carved part of the region before it is read, and
   * the walk is bounded. */
  for (uint64_t steps = 0; head && steps < (UINT64_C(1) << 24); steps++) {
    if (head - start >= carved || ((head - start) & (size - 1))) break;
    fn(t, head);
    head = (uintptr_t)(atomic_load_explicit(link_of((void *)head), memory_order_relaxed) &
                       ((UINT64_C(1) << TP_LEN_SHIFT) - 1));
  }
}
