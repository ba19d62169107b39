/* init.c - process life of the preload library: start, fork. The engine
 * starts itself on the first malloc (which may come before any
 * constructor); this constructor adds what needs libc fully up: the fork
 * hook and the stats triggers (signal, interval thread, exit dump). */

#include "engine.h"
#include "stats.h"

/* Nothing to prepare: the central pools are consistent at every instant
 * and there is no lock to take (taking allocator locks in the prepare
 * handler is what deadlocks jemalloc and tcmalloc in glibc's
 * tst-malloc-fork-deadlock). The child forgets other threads' caches. */
static void tp_atfork_child(void) {
  tp_fork_child();
  tp_stats_fork_child();
}

/* What pthread_atfork does (libc_nonshared.a's four lines), called
 * directly: linked in, pthread_atfork sits at the end of .text, and its
 * one call at start made the last 64 KiB of the library resident (see
 * TP_RESIDENT). */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);
extern void *__dso_handle __attribute__((visibility("hidden")));

__attribute__((constructor)) static void tp_preload_start(void) {
  tp_init();
  __register_atfork(NULL, NULL, tp_atfork_child, &__dso_handle);
  tp_stats_start();
  tp_fwd_start(); /* mimalloc now, if requests will need it (fallback.c) */
}

/* DT_FINI (-Wl,-fini): the loader calls it at exit. The default, _fini,
 * is in .fini, after the end of .text: for its empty body the last 64 KiB
 * of the library's code were made resident at every exit. */
TP_RESIDENT __attribute__((used)) void tp_fini(void) {}

