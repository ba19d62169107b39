/* init.c - process life of the preload library: start, fork. The engine
 * starts itself on the first malloc (which may come before any
 * constructor); this constructor adds what needs libc fully up: the fork
 * hook and the stats triggers (signal, interval thread, exit dump). */
#include <pthread.h>

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

__attribute__((constructor)) static void tp_preload_start(void) {
  tp_init();
  pthread_atfork(NULL, NULL, tp_atfork_child);
  tp_stats_start();
}

