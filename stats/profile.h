/* profile.h - the heap profile (TIERPOOL_PROFILE=DIR): where memory goes,
 * per allocation site, over time.
 *
 * It rides on leak tracking's sampler (leak.c): every get that the sampler
 * captures (TIERPOOL_LEAKS=sample, which TIERPOOL_PROFILE implies, or every
 * get with TIERPOOL_LEAKS=all) is reported here with its stack id, and so is
 * the put of such a block. From those the profile keeps, per stack:
 *
 *   allocated     blocks and bytes got, cumulative (weighted: estimates)
 *   live at peak  the stack's live blocks and bytes when the sampled live
 *                 total last reached a new high (copied from the stack
 *                 table then)
 *   live at exit  the stack table's live figures at exit
 *   short-lived   blocks freed less than TIERPOOL_PROFILE_SHORT
 *                 microseconds after their get
 *
 * and, for the process: a histogram of request lengths inside each tier
 * (weighted sampled gets, 8 equal buckets between the tier below and the
 * tier's size: how much rounding up costs), and a timeline of live bytes
 * per tier (the engine's exact counters, read every tick by a sampled get;
 * the tick doubles whenever the timeline is full, so it always spans the
 * whole run).
 *
 * At exit it writes DIR/profile.<pid>.json (docs/profile.md). Everything
 * lives in mmap'd memory; nothing here calls malloc.
 */
#ifndef TP_STATS_PROFILE_H
#define TP_STATS_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* True when TIERPOOL_PROFILE is set (read-only after tp_profile_start). */
extern bool tp_profile_on;

/* From tp_leak_start, before it decides the mode (a usable profile turns
 * the sampler on) and installs the hooks. Maps the profile's tables; false
 * when TIERPOOL_PROFILE is unset, or (with one warning) unusable. */
bool tp_profile_start(void);

/* A captured get: block p of n bytes charged to stack id, in tier `bit`
 * (TP_LEAK_FWD_BIT: forwarded to mimalloc). Called from the get hook. */
void tp_profile_got(const void *p, uint32_t id, uint64_t n, unsigned bit);
/* The put of a captured block (its charge was found). */
void tp_profile_put(const void *p, uint32_t id, uint64_t n, unsigned bit);

/* In a fork child: resets the locks another thread may have held. */
void tp_profile_fork_child(void);

#pragma GCC visibility pop

#endif
