/* init.c - the engine's start and its state machine (engine.h), and the
 * fork child's reset. The engine starts itself on the first call, from
 * whichever thread comes first, before or after constructors. */
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "central.h"
#include "engine.h"
#include "guard.h"
#include "sampler.h"

TP_START_DATA _Atomic int tp_state = TP_UNINIT;
TP_START_DATA static _Atomic long tp_init_tid;

TP_RESIDENT void tp_init(void) {
  int s = TP_UNINIT;
  if (atomic_compare_exchange_strong(&tp_state, &s, TP_INITIALIZING)) {
    atomic_store(&tp_init_tid, syscall(SYS_gettid));
    tp_config_load();
    tp_cache_init();
    int ok = tp_layout_reserve() == 0;
    tp_guard_init();
    atomic_store_explicit(&tp_state, ok ? TP_READY : TP_NO_POOL, memory_order_release);
    tp_fwd_ready();
    return;
  }
  /* Another thread initialises: wait for it, unless it is this thread
   * calling back into malloc from init (then the request is forwarded). */
  while (atomic_load_explicit(&tp_state, memory_order_acquire) == TP_INITIALIZING) {
    if (atomic_load(&tp_init_tid) == syscall(SYS_gettid)) return;
    sched_yield();
  }
}

void tp_fork_child(void) {
  tp_fwd_fork_child();
  if (atomic_load(&tp_state) != TP_READY) return;
  tp_central_fork_child();
  tp_cache_fork_child();
  tp_sampled_fork_child();
}
