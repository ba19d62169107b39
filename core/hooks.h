/* hooks.h - the interface for a layer above the engine (stats/ leak
 * tracking) to see the gets and puts. Installed for every get, the hooks
 * turn slow mode on (layout.h): every malloc and free takes the slow path,
 * and the fast paths stay untouched whether hooks exist or not. Installed
 * with a sample mean, they leave the fast path on and see the sampled gets
 * and every forwarded block (sampler.h). */
#ifndef TP_HOOKS_H
#define TP_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Callbacks, called with the calling thread's tp_in_hook set: allocations
 * they make themselves are served but not hooked, and never fail. */
typedef struct tp_hooks_s {
  /* After a get: p, the length asked for,
   * whether it is pooled (tier block) or forwarded (mimalloc), and whether
   * the sampler picked it (always, without a sampler). An unsampled get is
   * hooked only when forwarded, or in slow mode. */
  void (*get)(void *p, size_t n, bool pooled, bool sampled);
  /* Before a put of p. */
  void (*put)(void *p, bool pooled);
  /* A bad free of p about to abort the process (hardening.c): may say
   * more on stderr (the stack that allocated the block). May be NULL. */
  void (*bad_free)(const void *p);
} tp_hooks_t;

/* Set while this thread runs a hook. A TLS byte, not a cache field, so
 * that threads without a live cache (first call is free, or after the exit
 * flush) are hooked too. With tp_tls (cache.h): 9 bytes of static TLS. */
extern __thread unsigned char tp_in_hook __attribute__((tls_model("initial-exec")));

/* Installs hooks. sample_mean 0: every get is seen, in slow mode; else
 * the sampler picks gets at that mean interval in bytes, and the fast path
 * stays on unless something else asked for slow mode (sampler.h). Call
 * before other threads run. */
void tp_set_hooks(const tp_hooks_t *hooks, double sample_mean);

/* The hooks installed (tp_hooked), written once before other threads run. */
extern tp_hooks_t tp_hooks;
extern bool tp_hooked;
/* Installed for every get (no sampler): slow mode is on for them. With
 * no guard of its own on (guard.h), the slow path's plain get and put
 * is then the fast path's list pop or push with the hook around it
 * (alloc.c, tp_malloc_slow and tp_free_slow). */
extern bool tp_hooks_every_get;

/* For the guards (guard.h) and the forwarding layer: run the hooks unless
 * none are installed or this thread is inside one already. Inline: in
 * exact leak mode every get and put comes here. */
static inline void tp_hooks_run_get(void *p, size_t n, bool pooled, bool sampled) {
  if (!tp_hooked || tp_in_hook) return;
  tp_in_hook = 1;
  tp_hooks.get(p, n, pooled, sampled);
  tp_in_hook = 0;
}

static inline void tp_hooks_run_put(void *p, bool pooled) {
  if (!tp_hooked || tp_in_hook) return;
  tp_in_hook = 1;
  tp_hooks.put(p, pooled);
  tp_in_hook = 0;
}
/* For tp_report_bad_free: the bad_free hook, if one is installed. */
void tp_hooks_run_bad_free(const void *p);

#pragma GCC visibility pop

#endif
