/* leak_life.c - leak tracking's life and API (see leak.h): start (the
 * options, the tables, the hooks), fork, and tierpool_mark /
 * tierpool_leaks_since.
 *
 * The top of the leak files: it sets up and calls the others (the tables,
 * the hooks, the stack table, the scan, the report, the profile), and none
 * of them calls it.
 */
#include <stdatomic.h>

#include "hooks.h"
#include "leak_int.h"
#include "options.h"
#include "profile.h"
#include "tierpool.h"

void tp_leak_start(void) {
  enum tp_leak_mode asked = (enum tp_leak_mode)tp_stats_config.leaks; /* parsed by options.c */
  enum tp_leak_mode mode = asked;
  if (tp_stats_config.profile[0] && mode != TP_LEAKS_ALL)
    mode = TP_LEAKS_SAMPLE; /* the profile rides on the sampler */
  if (mode == TP_LEAKS_OFF) return;
  tp_hooks_t hooks = {.bad_free = tp_leak_bad_free}; /* tp_set_hooks copies it */
  tp_leak_hooks_init(&hooks);
  if (!tp_leak_tables_init() || !tp_stack_init() ||
      !tp_leak_report_init()) {
    tp_warn("TIERPOOL_LEAKS: no address space for the leak tables; leak tracking off");
    return;
  }
  tp_leak_tab.depth = (unsigned)tp_stats_config.leaks_depth;
  if (tp_leak_tab.depth < 1 || tp_leak_tab.depth > TP_LEAK_MAX_DEPTH) tp_leak_tab.depth = 32;
  tp_lk.mean = (double)(tp_stats_config.leaks_sample ? tp_stats_config.leaks_sample : 1);
  tp_leak_tab.count_scale = mode == TP_LEAKS_SAMPLE ? 1024 : 1;
  tp_leak_tab.captures_rare = mode == TP_LEAKS_SAMPLE;
  /* TIERPOOL_PROFILE: its tables, before the hooks run. A profile that
   * cannot start (it said why) leaves no sampling nobody asked for. */
  if (!tp_profile_start() && asked == TP_LEAKS_OFF) return;
  tp_leak_mode = mode;
  tp_lk.counting = tp_profile_on;
  tp_set_hooks(&hooks, mode == TP_LEAKS_SAMPLE ? tp_lk.mean : 0);
  /* (libunwind: loaded when a capture first needs it, leak_stack.c.) */
}

void tp_leak_fork_child(void) {
  if (!tp_leak_mode) return;
  /* Another thread may have held these at the fork; it does not exist here. */
  atomic_store(&tp_lk.fwd_lock, 0);
  tp_stack_fork_child();
  tp_leak_report_fork_child();
  tp_profile_fork_child();
  /* The child reports what it allocates itself: the parent's live blocks
   * are the parent's to report (a child that simply exits has not leaked
   * them). They stay charged to the parent's period. */
  tp_leak_tab.report_from = atomic_fetch_add(&tp_leak_tab.epoch, 1) + 1;
}

/* ------------------------------------------------------------ the API */

TP_API tierpool_mark_t tierpool_mark(void) {
  if (!tp_leak_mode) return 0;
  return atomic_fetch_add(&tp_leak_tab.epoch, 1) + 1;
}

TP_API int tierpool_leaks_since(tierpool_mark_t mark, tierpool_leaks_t *out, int report_fd) {
  if (!tp_leak_mode || !out || mark > UINT32_MAX) return -1;
  if (!tp_leak_report_acquire()) return -1;
  static char buf[8192]; /* report lock held */
  tp_out_t o;
  tp_out_init(&o, buf, sizeof buf, report_fd);
  tp_leak_sum_t sum;
  tp_leak_collect((uint32_t)mark, &sum, report_fd >= 0 ? &o : NULL, tp_stats_config.leaks_top);
  if (report_fd >= 0) tp_out_flush(&o);
  tp_leak_report_release();
  out->blocks = sum.blocks;
  out->bytes = sum.bytes;
  out->stacks = sum.stacks;
  out->estimated = tp_leak_mode == TP_LEAKS_SAMPLE;
  return 0;
}
