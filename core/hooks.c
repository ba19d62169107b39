/* hooks.c - the hooks a layer above installs (hooks.h). */
#include "common.h"
#include "hooks.h"
#include "layout.h"
#include "sampler.h"

__thread unsigned char tp_in_hook __attribute__((tls_model("initial-exec")));
/* Read by every process's slow path: with the start data. */
TP_START_DATA tp_hooks_t tp_hooks;
TP_START_DATA bool tp_hooked;
TP_START_DATA bool tp_hooks_every_get;

void tp_set_hooks(const tp_hooks_t *hooks, double sample_mean) {
  TP_CHECK(hooks->get && hooks->put, "tp_set_hooks: both hooks are required");
  tp_hooks = *hooks;
  tp_hooked = true;
  if (sample_mean > 0) {
    tp_sampler_start(sample_mean);
    tp_fwd_hooked = !tp_slow_mode;
  } else {
    tp_hooks_every_get = true;
    tp_layout_slow_mode();
  }
}

void tp_hooks_run_bad_free(const void *p) {
  if (!tp_hooked || !tp_hooks.bad_free || tp_in_hook) return;
  tp_in_hook = 1;
  tp_hooks.bad_free(p);
  tp_in_hook = 0;
}
