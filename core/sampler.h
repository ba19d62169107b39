/* sampler.h - which gets a layer above sees when it asked for a sample
 * rather than every get (a heap profile, TIERPOOL_LEAKS=sample).
 *
 * Sampling is by bytes, as in tcmalloc and heapprofd: each thread counts
 * down the bytes it asks for, and the get that takes the count below zero
 * is sampled; the next count is drawn from an exponential distribution of
 * the mean the layer gave. A get of n bytes is then sampled with
 * probability 1 - exp(-n / mean), whatever the sizes around it.
 *
 * The count is a word of the thread cache (sample_left), and the fast path
 * keeps it: one subtraction and one branch per pooled get (tp_bin_pop), no
 * other work, so the pools stay fast with the sampler on. The slow path
 * serves the sampled get outside the pools (sampler.c, "their memory"):
 * its free then comes to the slow path by itself, where the hook sees it,
 * and a pooled free never has to ask "was this block sampled?"
 * (jemalloc's sampled allocations leave their size class for the same
 * reason). A state word per sampled block (sampler.c) keeps them counted
 * as gets and puts of the tier they asked for, so the stats are the same
 * with the sampler on or off.
 * Forwarded gets and puts are slow anyway: with hooks in fast mode they all
 * run the hooks (tp_fwd_hooked), sampled or not, so that the layer above
 * knows every forwarded block (its reachability scan needs them).
 *
 * With the sampler off, sample_left is INT64_MAX and is never reached:
 * 2^63 bytes of gets per thread.
 */
#ifndef TP_SAMPLER_H
#define TP_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

#pragma GCC visibility push(hidden)

/* On when a layer installed hooks with a sample mean (hooks.h). */
extern bool tp_sampling;
/* Hooks installed and slow mode off: forwarded gets and puts run them. */
extern bool tp_fwd_hooked;

/* Turns the sampler on with that mean interval in bytes (> 0). At init,
 * before other threads run. */
void tp_sampler_start(double mean);
/* bytes of zeroed memory at area (page-aligned, the engine's own, never
 * given back) for the sampled blocks' first chunks, before the sampler's
 * own mapping; called before tp_sampler_start, if at all. */
void tp_sampler_first_area(void *area, size_t bytes);
/* A fresh count for live cache c: an exponential draw of the mean, or
 * INT64_MAX with the sampler off. */
int64_t tp_sampler_interval(tp_cache_t *c);
/* Counts down n bytes of a get not yet counted on c, the calling thread's
 * cache: true if it is sampled (the count is then drawn afresh). Always
 * true with the sampler off (every get is seen); false for a cache that is
 * not live (a sentinel is never written). */
bool tp_sampler_due_slow(tp_cache_t *c, size_t n);
static inline bool tp_sampler_due(tp_cache_t *c, size_t n) {
  return !tp_sampling || tp_sampler_due_slow(c, n);
}

/* The live sampled blocks, in memory of their own (sampler.c, "their
 * memory"), counted in their tiers, each with a state word: 0 free,
 * TP_SAMPLED_UNTAGGED once handed out, then a tag of the layer above
 * (never 0 nor TP_SAMPLED_UNTAGGED).
 * tp_sampled_new: a block of tier t's size; NULL when none can be mapped
 * (serve the get pooled).
 * tp_sampled_tag: gives p its tag; false if p is not in that memory (a
 * forwarded block sampled in mimalloc or a large mapping).
 * tp_sampled_tier: p's tier and its state in *tag (if tag is not NULL),
 * or -1 if p is not a live sampled block. No lock.
 * tp_sampled_free: the same, and p is freed, its memory kept for the
 * next: of two frees of one block, one gets -1.
 * tp_sampled_stored: for a pointer that is nobody's block, its tier's size
 * if it lies in the sampled blocks' memory (a double free, or a pointer
 * into a block: *interior), else 0.
 * tp_sampled_each: fn (if not NULL) for every live sampled block (a
 * dump's or the exit scan's reading; blocks handed out or freed meanwhile
 * may be seen or not); returns how many. */
#define TP_SAMPLED_UNTAGGED UINT64_MAX
void *tp_sampled_new(unsigned t);
bool tp_sampled_tag(const void *p, uint64_t tag);
int tp_sampled_tier(const void *p, uint64_t *tag);
int tp_sampled_free(const void *p);
size_t tp_sampled_stored(const void *p, bool *interior);
size_t tp_sampled_each(void (*fn)(void *p, unsigned t, uint64_t tag, void *ctx), void *ctx);
/* In the fork child: another thread may have held a lock of theirs. */
void tp_sampled_fork_child(void);

#pragma GCC visibility pop

#endif
