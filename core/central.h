/* central.h - per-tier central pools shared by all threads.
 *
 * A central pool is a lock-free stack of batches. A batch is a list of free
 * blocks threaded through their first word; its head block's third word
 * (the second in the 16-byte tier) holds the link to the next batch and
 * the batch's length, and every block's second word the free key:
 *
 *   top --> [next|key|link,len] --> [next|key] --> [next|key] --> NULL
 *                      |                                    (one batch)
 *                      v
 *           [next|key|link,len] --> ...                     (next batch)
 *
 * top is tagged (block index + a 24-bit generation) so a pop that races
 * with pop+push of the same head fails its CAS (ABA). Pages of the regions
 * are never unmapped or made inaccessible again, so reading a head that
 * another thread has meanwhile handed to its user is harmless: the CAS
 * fails. Fresh blocks are carved from the region at an atomic front, and
 * the pages under the front are committed (made accessible) ahead of it.
 * Every instant is consistent, so a child after fork() uses the pools as
 * they are; there is no lock to reset.
 *
 * Decay (tiers of TP_DECAY_MIN_SIZE and more): the blocks that stay in a
 * pool for a whole period, untouched by any pop, are the bottom of the
 * stack; a push that finds the period over gives their pages back. A
 * batch whose pages are given back carries a flag in its link (bit 0) so
 * that the next decay skips it.
 */
#ifndef TP_CENTRAL_H
#define TP_CENTRAL_H

#include <stdatomic.h>

#include "config.h"
#include "layout.h"

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

typedef struct tp_central_s {
  _Atomic uint64_t top;         /* tagged batch stack: (gen << 40) | (index + 1) */
  _Atomic uint64_t carve;       /* bytes carved from the region start */
  _Atomic uint64_t commit;      /* bytes committed (accessible) from the region start */
  _Atomic uint64_t blocks;      /* free blocks held in batches */
  _Atomic uint64_t orphan_get;  /* gets by threads that have no cache (exited) */
  _Atomic uint64_t orphan_put;  /* puts by threads that have no cache */
  _Atomic uint64_t orphan_bytes;
  _Atomic int commit_lock;      /* 1 while a thread maps pages (lazy layout); 0 in a fork child */
  _Atomic uint64_t low;         /* fewest free blocks held since the last decay (large tiers) */
  _Atomic uint64_t decay_ms;    /* when the last decay ran (CLOCK_MONOTONIC_COARSE) */
} __attribute__((aligned(64))) tp_central_t;

extern tp_central_t tp_central[TP_MAX_TIERS];

/* Pushes the list head..(len blocks) as one batch. */
void tp_central_push(unsigned t, void *head, uint32_t len) __attribute__((nonnull(2)));
/* Gives the pages of the blocks of list head (all but each block's first
 * page, which holds the links) back to the system; returns the bytes. */
size_t tp_central_release(unsigned t, void **head);

/* Tiers of two pages or more give pages of free blocks back. */
#define TP_RELEASE_MIN_SIZE 8192
/* Tiers whose idle free blocks decay (see above, central.c). Below it a
 * block is too small for its pages' faults to matter next to what the
 * lists keep, and 64 KiB batches (scripts/bench --micro) pay no clock. */
#define TP_DECAY_MIN_SIZE ((size_t)128 << 10)

/* Hands a list of len free blocks (which the caller owns) to the central
 * pool: tp_central_push, but past TIERPOOL_RETAIN bytes held by a tier of
 * 8 KiB or more, the blocks' pages go back to the system first. */
TP_HOT void tp_central_give(unsigned t, void *head, uint32_t len) {
  size_t size = tp_tier_size(t);
  if (size >= TP_RELEASE_MIN_SIZE &&
      atomic_load_explicit(&tp_central[t].blocks, memory_order_relaxed) * size >= tp_config.retain)
    tp_central_release(t, head);
  tp_central_push(t, head, len);
}
/* Pops one batch; returns its head and stores its length, or NULL. */
void *tp_central_pop(unsigned t, uint32_t *len);
/* Calls fn(ctx, t, head) on every batch head of tier t's stack as it is
 * now, without taking the batches (racy by nature: for reports, not for
 * allocation; walk.h is the interface for stats/). */
void tp_central_walk_heads(unsigned t, void (*fn)(void *ctx, unsigned t, uintptr_t head), void *ctx);
/* The same without a context: kept for stats/leak.c until it walks free
 * blocks through walk.h. */
void tp_central_for_each_head(unsigned t, void (*fn)(unsigned t, uintptr_t head));
/* Carves up to want fresh blocks, contiguous, committed. Returns the first
 * block and stores how many (0 and NULL when the region is full or the
 * kernel refuses the pages). */
void *tp_central_carve(unsigned t, uint32_t want, uint32_t *got);
/* In the fork child: releases the commit locks that threads which do not
 * exist there may have held. */
void tp_central_fork_child(void);
/* Gives the pages of every free block in the central pools of the tiers
 * of 8 KiB or more back to the system; returns the bytes released. */
size_t tp_central_trim(void);

#pragma GCC visibility pop

#endif
