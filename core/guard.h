/* guard.h - slow mode: what runs on every get and put when the user asks
 * for it, kept off the fast path entirely.
 *
 * Slow mode is on when TIERPOOL_HARDEN=full, TIERPOOL_LIMIT or
 * TIERPOOL_FAIL is set, or when a layer above installs hooks (leak
 * tracking). It zeroes tp_layout.fast_max and fast_span, so every malloc
 * and free takes the slow path, which calls the guard around the get or
 * put it does anyway.
 */
#ifndef TP_GUARD_H
#define TP_GUARD_H

#include <stdbool.h>

#include "cache.h"

#pragma GCC visibility push(hidden)

/* Callbacks of a layer above (stats/ leak tracking). Called with the
 * calling thread's tp_in_hook set: allocations they make themselves
 * are served but not hooked. */
typedef struct tp_hooks_s {
  /* After a get: p, the length asked for, the block's usable size, and
   * whether it is pooled (tier block) or forwarded (mimalloc). */
  void (*get)(void *p, size_t n, size_t usable, bool pooled);
  /* Before a put of p. */
  void (*put)(void *p, bool pooled);
  /* A bad free of p about to abort the process (hardening.c): may say
   * more on stderr (the stack that allocated the block). May be NULL. */
  void (*bad_free)(const void *p);
} tp_hooks_t;

extern bool tp_slow_mode; /* read-only after init (and tp_set_hooks) */
extern __thread unsigned char tp_in_hook __attribute__((tls_model("initial-exec")));

/* At init, after the layout: turns slow mode on if the options ask. */
void tp_guard_init(void);
/* Installs hooks and turns slow mode on. Call before other threads run. */
void tp_set_hooks(const tp_hooks_t *hooks);

/* Before a get that will use charge bytes: false when TIERPOOL_FAIL or
 * TIERPOOL_LIMIT says this one fails (the caller returns NULL/ENOMEM). */
bool tp_guard_admit(size_t charge);
/* After a successful get of p (n bytes asked). */
void tp_guard_got(void *p, size_t n);
/* Before the put of p; aborts on a double free in TIERPOOL_HARDEN=full. */
void tp_guard_put(void *p);
/* From tp_report_bad_free: the hooks' bad_free, if any. */
void tp_guard_bad_free(const void *p);

#pragma GCC visibility pop

#endif
