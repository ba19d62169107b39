/* walk.c - walks of the free blocks for reports (walk.h). A free block is
 * recognised by the engine's own marks: word 1 holds the free key in a
 * thread list and inside a central batch (cache.h), and a batch head of
 * the 16-byte tier, whose word 1 is its link, is found on its tier's stack
 * of batches (central.h). A live block never holds the key: every get
 * clears it. */
#include "cache.h"
#include "central.h"
#include "walk.h"

typedef struct {
  tp_block_want_fn want;
  tp_block_fn fn;
  void *ctx;
} walk_t;

static void head_found(void *ctx, unsigned t, uintptr_t head) {
  walk_t *w = ctx;
  if (tp_engine_block_free(head)) return; /* holds the key: the block scan finds it */
  if (!w->want || w->want(w->ctx, t, tp_block_index((void *)head, t))) w->fn(w->ctx, t, head);
}

void tp_engine_for_each_free_block(unsigned t, tp_block_want_fn want, tp_block_fn fn, void *ctx) {
  if (!tp_layout.span || t >= tp_layout.ntiers) return;
  uint64_t carved = atomic_load_explicit(&tp_central[t].carve, memory_order_acquire);
  walk_t w = {want, fn, ctx};
  tp_central_walk_heads(t, head_found, &w);
  uintptr_t start = tp_region_start(t), size = tp_tier_size(t);
  uint64_t nblocks = carved >> (t + TP_MIN_SHIFT);
  for (uint64_t i = 0; i < nblocks; i++) {
    if (want && !want(ctx, t, i)) continue;
    if (tp_engine_block_free(start + i * size)) fn(ctx, t, start + i * size);
  }
}

void tp_engine_for_each_free_head(unsigned t, tp_block_fn fn, void *ctx) {
  if (!tp_layout.span || t >= tp_layout.ntiers) return;
  walk_t w = {NULL, fn, ctx};
  tp_central_walk_heads(t, head_found, &w);
}

bool tp_engine_block_free(uintptr_t blk) {
  return atomic_load_explicit(&((const _Atomic uint64_t *)blk)[1], memory_order_relaxed) == tp_free_key;
}
