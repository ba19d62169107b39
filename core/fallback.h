/* fallback.h - forwarding to mimalloc (fallback.c): the wrappers that keep
 * glibc's contract whatever mimalloc 2.0.9 does, and the accounting of
 * every forwarded request ("discarded", by reason) and forwarded free. */
#ifndef TP_FALLBACK_H
#define TP_FALLBACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "tierpool.h"

#pragma GCC visibility push(hidden)

/* The engine is up: a request may load mimalloc from now on. */
void tp_fwd_ready(void);
/* Once the process is up (the preload library's constructor, after the
 * stats layer started): loads mimalloc now if requests will need it from
 * anywhere, or a lowered RLIMIT_AS or RLIMIT_DATA may refuse the load
 * later (fallback.c). */
void tp_fwd_start(void);
/* In a fork child: forgets a load another thread had under way. */
void tp_fwd_fork_child(void);
/* Loads mimalloc if it is not yet (never waiting for another thread's
 * load); false when it is not loaded and cannot be now. */
bool tp_fwd_load(void);
/* A code address inside mimalloc, 0 while it is not loaded. */
uintptr_t tp_fwd_code(void);
/* The bytes mimalloc has committed (0 while it is not loaded). */
size_t tp_fwd_committed(void);
/* zero: the memory must read as zero (calloc). NULL/ENOMEM on failure. */
void *tp_fwd_alloc(size_t n, size_t align, bool zero);
void tp_fwd_free(void *p);
/* Aborts with a message if p, given to what ("free", "realloc"), is a
 * stack, static or unmapped pointer rather than a mimalloc block. */
void tp_fwd_check(const char *what, const void *p);
size_t tp_fwd_usable(const void *p);
/* Whether p is the start of a live block forwarded to large.c, or lies in
 * mimalloc's heap: a segment-map lookup, and for a pointer 64 bytes into a
 * page (where large blocks start) a read of its header, once a mincore has
 * shown the page mapped (remembered until the block is freed), so a wild or
 * freed pointer answers false instead of faulting. False for
 * pooled blocks (tp_is_pooled answers those), and for mimalloc blocks
 * outside mimalloc 2.0.9's address map (see tp_fwd_check). */
bool tp_fwd_owns(const void *p);
/* Whether p lies in memory mimalloc manages (its segments), block or not. */
bool tp_fwd_heap_region(const void *p);
/* Grows or shrinks a mimalloc block in place when it can; NULL/ENOMEM
 * (p intact) past RAM + swap, like tp_fwd_alloc. */
void *tp_fwd_realloc(void *p, size_t n);

/* Counts a discard (a forwarded get) for this thread, then tp_fwd_alloc.
 * With the sampler's hooks (sampler.h), these three run the hooks too. */
void *tp_forward(size_t n, size_t align, int reason, bool zero);
/* Counts a forwarded free for this thread, then tp_fwd_free. */
void tp_forward_free(void *p);
/* The sampler's get of n bytes of tier t for live cache c (sampler.h):
 * served outside the pools, counted as a get of tier t, hooked; NULL when
 * it cannot be (then the caller serves it pooled). */
void *tp_forward_sampled(tp_cache_t *c, unsigned t, size_t n);
/* tp_fwd_realloc, seen by the sampler's hooks as a put and a get. */
void *tp_forward_realloc(void *p, size_t n);
/* malloc_trim: mimalloc gives back what it can, the cache of large
 * mappings all it holds; returns the bytes large.c unmapped. */
size_t tp_fwd_collect(void);

/* Discards and forwarded frees of threads that have no cache (early init,
 * exited threads); summed by counters.c with the caches' own. */
extern _Atomic uint64_t tp_orphan_disc_count[TIERPOOL_REASON_COUNT];
extern _Atomic uint64_t tp_orphan_disc_bytes[TIERPOOL_REASON_COUNT];
extern _Atomic uint64_t tp_orphan_fwd_frees;

#pragma GCC visibility pop

#endif
