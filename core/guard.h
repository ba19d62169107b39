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
/* After a successful get of p (n bytes asked). */
void tp_guard_got(void *p, size_t n);
/* Before the put of p; aborts on a double free in TIERPOOL_HARDEN=full. */
void tp_guard_put(void *p);

#pragma GCC visibility pop

#endif
