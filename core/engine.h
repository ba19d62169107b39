/* engine.h - the engine's entry points, one per malloc-family contract.
 * preload/ maps the C symbols onto these; the unit tests call them
 * directly. Each keeps glibc's contract (errno, size 0, alignment).
 * The fast paths (tp_malloc, tp_free) are inline in cache.h; the rest is
 * alloc.c, the engine's start init.c. */
#ifndef TP_ENGINE_H
#define TP_ENGINE_H

#include <stdbool.h>

#include "cache.h"
#include "fallback.h"

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

/* ------------------------------------------------------------ alloc.c */

void *tp_calloc(size_t n, size_t m);
void *tp_realloc(void *p, size_t n);
void *tp_reallocarray(void *p, size_t n, size_t m);
/* align: a power of two (callers check). */
void *tp_aligned(size_t align, size_t n);
size_t tp_usable_size(const void *p);
/* Gives free memory back to the system; returns 1 if some was. */
int tp_trim(size_t pad);

/* ------------------------------------------------------------ init.c */

enum tp_state { TP_UNINIT = 0, TP_INITIALIZING = 1, TP_READY = 2, TP_NO_POOL = 3 };
extern _Atomic int tp_state;
/* Idempotent; safe to call from any thread at any time. */
void tp_init(void);
/* In the child after fork(): forget other threads' caches. */
void tp_fork_child(void);

#pragma GCC visibility pop

#endif
