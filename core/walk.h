/* walk.h - what a report may learn of the engine's free blocks, without
 * knowing how they are encoded (the free key, the batch links). For
 * stats/ (leak settling); never on an allocation path. */
#ifndef TP_WALK_H
#define TP_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Whether the walk should look at block number index of tier t (its index
 * within the tier's region, as tp_block_index): a cheap filter on the
 * caller's side data, so that blocks it does not track are never read. */
typedef bool (*tp_block_want_fn)(void *ctx, unsigned t, size_t index);
/* Called for each free block found. */
typedef void (*tp_block_fn)(void *ctx, unsigned t, uintptr_t blk);

/* Calls fn for every block of tier t that is free now: in any thread's
 * cache or in a central batch. want (NULL: every block) filters first.
 * Racy by nature: other threads allocate and free meanwhile, so a block
 * may be reported free just as it is handed out, or missed just as it is
 * freed; every address is checked against the carved part of the region
 * before it is read, and nothing is written. */
void tp_engine_for_each_free_block(unsigned t, tp_block_want_fn want, tp_block_fn fn, void *ctx);

/* The same answer one block at a time, for a report that reads only the
 * blocks it meets (the leak scan): call tp_engine_for_each_free_head once
 * per tier for the free blocks no one-word test can tell (the heads of
 * the 16-byte tier's central batches: few), then tp_engine_block_free for
 * any other carved block. Same rules and races as the walk above. */
void tp_engine_for_each_free_head(unsigned t, tp_block_fn fn, void *ctx);
bool tp_engine_block_free(uintptr_t blk);

#pragma GCC visibility pop

#endif
