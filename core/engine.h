/* engine.h - the engine's entry points, one per malloc-family contract.
 * preload/ maps the C symbols onto these; the unit tests call them
 * directly. Each keeps glibc's contract (errno, size 0, alignment). */
#ifndef TP_ENGINE_H
#define TP_ENGINE_H

#include <stdbool.h>

#include "cache.h"

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

void *tp_calloc(size_t n, size_t m);
void *tp_realloc(void *p, size_t n);
void *tp_reallocarray(void *p, size_t n, size_t m);
/* align: a power of two (callers check). */
void *tp_aligned(size_t align, size_t n);
size_t tp_usable_size(const void *p);
/* Gives free memory back to the system; returns 1 if some was. */
int tp_trim(size_t pad);

/* Engine state. */
enum tp_state { TP_UNINIT = 0, TP_INITIALIZING = 1, TP_READY = 2, TP_NO_POOL = 3 };
extern _Atomic int tp_state;
/* Idempotent; safe to call from any thread at any time. */
void tp_init(void);
/* In the child after fork(): forget other threads' caches. */
void tp_fork_child(void);

/* Forwarding to mimalloc, keeping glibc's contract (fallback.c). */
/* zero: the memory must read as zero (calloc). */
void *tp_fwd_alloc(size_t n, size_t align, bool zero);
/* Counts a discard for this thread, then tp_fwd_alloc. */
void *tp_forward(size_t n, size_t align, int reason, bool zero);
/* At init: the largest request the fallback will try (RAM + swap). */
void tp_fwd_init(void);
void tp_fwd_free(void *p);
size_t tp_fwd_usable(const void *p);
/* Grows or shrinks a mimalloc block in place when it can; NULL/ENOMEM
 * (p intact) past RAM + swap, like tp_fwd_alloc. */
void *tp_fwd_realloc(void *p, size_t n);

/* Bad pointers (hardening.c): report on stderr and abort like glibc. */
void tp_report_bad_free(const char *what, const void *p, unsigned tier) __attribute__((noreturn, cold));

#pragma GCC visibility pop

#endif
