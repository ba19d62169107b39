/* hooks.c - the hooks a layer above installs (hooks.h). */
#include "common.h"
#include "hooks.h"
#include "layout.h"
#include "sampler.h"

__thread unsigned char tp_in_hook __attribute__((tls_model("initial-exec")));
static tp_hooks_t tp_hooks;
static bool tp_hooked;

void tp_set_hooks(const tp_hooks_t *hooks, double sample_mean) {
  TP_CHECK(hooks->get && hooks->put, "tp_set_hooks: both hooks are required");
  tp_hooks = *hooks;
  tp_hooked = true;
  if (sample_mean > 0) {
    tp_sampler_start(sample_mean);
    tp_fwd_hooked = !tp_slow_mode;
  } else {
    tp_layout_slow_mode();
  }
}

void tp_hooks_run_get(void *p, size_t n, bool pooled, bool sampled) {
  if (!tp_hooked || tp_in_hook) return;
  tp_in_hook = 1;
  tp_hooks.get(p, n, pooled, sampled);
  tp_in_hook = 0;
}

void tp_hooks_run_put(void *p, bool pooled) {
  if (!tp_hooked || tp_in_hook) return;
  tp_in_hook = 1;
  tp_hooks.put(p, pooled);
  tp_in_hook = 0;
}

void tp_hooks_run_bad_free(const void *p) {
  if (!tp_hooked || !tp_hooks.bad_free || tp_in_hook) return;
  tp_in_hook = 1;
  tp_hooks.bad_free(p);
  tp_in_hook = 0;
}
