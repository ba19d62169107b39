/* guard.h - slow mode: what runs on every get and put when the user asks
 * for it, kept off the fast path entirely.
 *
 * Slow mode is on when TIERPOOL_HARDEN=full, TIERPOOL_LIMIT or
 * TIERPOOL_FAIL is set, or when a layer above installs hooks (hooks.h). It
 * zeroes tp_layout.fast_max and fast_span, so every malloc and free takes
 * the slow path, which calls the guard around the get or put it does
 * anyway.
 */
#ifndef TP_GUARD_H
#define TP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "hooks.h"
#include "layout.h"
#include "sampler.h"

#pragma GCC visibility push(hidden)

/* At init, after the layout: turns slow mode on if the options ask. */
void tp_guard_init(void);

/* TIERPOOL_LIMIT or TIERPOOL_FAIL is set: a get may be refused (at init). */
extern bool tp_guard_refuses;
bool tp_guard_admit_slow(size_t charge);
/* Before a get that will use charge bytes: false when TIERPOOL_FAIL or
 * TIERPOOL_LIMIT says this one fails (the caller returns NULL/ENOMEM).
 * Inline: leak tracking alone takes the slow path without either, and
 * pays no call (nor the charge's arithmetic) here. */
static inline bool tp_guard_admit(size_t charge) {
  return !tp_guard_refuses || tp_guard_admit_slow(charge);
}
/* TIERPOOL_HARDEN=full or TIERPOOL_LIMIT is set: every get and put has
 * its own work here (a state bit, a charge), tp_guard_got_slow's and
 * tp_guard_put_slow's (at init). */
extern bool tp_guard_counts;
void tp_guard_got_slow(void *p, bool pooled);
void tp_guard_put_slow(void *p, bool pooled);

/* After a successful get of p (n bytes asked): the guard's own work, then
 * the hooks. Inline: leak tracking alone, which takes the slow path for
 * every get, calls the hook and nothing else. */
static inline void tp_guard_got(void *p, size_t n) {
  if (!tp_slow_mode || !p) return;
  bool pooled = tp_is_pooled(p);
  if (tp_guard_counts) tp_guard_got_slow(p, pooled);
  tp_hooks_run_get(p, n, pooled, tp_sampler_due(tp_tls, n));
}

/* Before the put of p; aborts on a double free in TIERPOOL_HARDEN=full. */
static inline void tp_guard_put(void *p) {
  if (!tp_slow_mode) return;
  bool pooled = tp_is_pooled(p);
  if (tp_guard_counts) tp_guard_put_slow(p, pooled);
  tp_hooks_run_put(p, pooled);
}

#pragma GCC visibility pop

#endif
