/* profile_write.c - the profile's file: DIR/profile.<pid>.json, written
 * from the library's destructor (after main returned and the program's
 * atexit handlers ran), through the emitter (JSON, no malloc).
 *
 * The keys are documented in docs/profile.md; `tierpool profile` turns the
 * file into pprof, folded stacks and the HTML report. Counts are weighted
 * estimates rounded to integers (exact in TIERPOOL_LEAKS=all mode).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "emit.h"
#include "profile_int.h"


static const tp_field_t f_version = TP_KEY("version"), f_pid = TP_KEY("pid"),
                        f_exe = TP_KEY("exe"), f_start = TP_KEY("start_unix_ns"),
                        f_duration = TP_KEY("duration_ns"), f_mode = TP_KEY("mode"),
                        f_interval = TP_KEY("sample_interval"), f_short = TP_KEY("short_lived_us"),
                        f_depth = TP_KEY("depth"), f_bytes = TP_KEY("bytes"),
                        f_time = TP_KEY("time_ns"), f_snapshots = TP_KEY("snapshots"),
                        f_lost = TP_KEY("ages_lost"), f_dropped = TP_KEY("dropped"),
                        f_size = TP_KEY("size"), f_hist = TP_KEY("hist"),
                        f_tick = TP_KEY("tick_ns"), f_series = TP_KEY("series"),
                        f_t = TP_KEY("t"), f_live = TP_KEY("live"), f_id = TP_KEY("id"),
                        f_samples = TP_KEY("samples"), f_alloc_n = TP_KEY("alloc_count"),
                        f_alloc_b = TP_KEY("alloc_bytes"), f_peak_n = TP_KEY("peak_count"),
                        f_peak_b = TP_KEY("peak_bytes"), f_exit_n = TP_KEY("exit_count"),
                        f_exit_b = TP_KEY("exit_bytes"), f_short_n = TP_KEY("short_count"),
                        f_short_b = TP_KEY("short_bytes"), f_tiers = TP_KEY("tiers"),
                        f_fwd = TP_KEY("forwarded"), f_overflow = TP_KEY("overflow"),
                        f_module = TP_KEY("module"), f_offset = TP_KEY("offset"),
                        f_function = TP_KEY("function"), f_fn_offset = TP_KEY("function_offset");

/* Fixed-point count to blocks, rounded; negative (puts of blocks whose
 * gets were not seen) as 0. */
static uint64_t blocks_of(int64_t c) {
  if (c <= 0) return 0;
  return (uint64_t)(c + tp_leak_tab.count_scale / 2) / (uint64_t)tp_leak_tab.count_scale;
}

static tp_value_t pos(int64_t v) { return tp_v_u64(v > 0 ? (uint64_t)v : 0); }

/* ------------------------------------------------------------ sections */

static void write_frames(tp_emitter_t *e, const tp_stack_t *s) {
  const tp_leak_tab_t *tab = &tp_leak_tab;
  uint32_t nmod = atomic_load_explicit(&tab->nmodules, memory_order_acquire);
  tp_emit_array_begin(e, "frames");
  for (unsigned i = 0; i < s->depth; i++) {
    uintptr_t ip = tab->ips[s->frame0 + i];
    unsigned m = tab->mods[s->frame0 + i];
    tp_module_t *mod = m < nmod ? &tab->modules[m] : NULL;
    uint64_t off = mod ? ip - mod->base : ip, fn_off = 0;
    const char *fn = NULL;
    /* A return address may lie just past its function: look up the call. */
    if (mod && off && tp_elf_lookup(mod, off - 1, &fn, &fn_off)) fn_off++;
    tp_emit_object_begin(e, NULL);
    tp_emit_scalar(e, &f_module, mod ? tp_v_str(tp_module_path(mod)) : tp_v_null());
    tp_emit_scalar(e, &f_offset, tp_v_u64(off));
    tp_emit_scalar(e, &f_function, fn ? tp_v_str(fn) : tp_v_null());
    tp_emit_scalar(e, &f_fn_offset, fn ? tp_v_u64(fn_off) : tp_v_null());
    tp_emit_object_end(e);
  }
  tp_emit_array_end(e);
}

/* Every stack of this process's periods that allocated or still holds
 * something. */
static void write_stacks(tp_emitter_t *e) {
  const tp_leak_tab_t *tab = &tp_leak_tab;
  uint32_t n = atomic_load_explicit(&tab->nstacks, memory_order_acquire);
  if (n > TP_LEAK_MAX_STACKS) n = TP_LEAK_MAX_STACKS;
  tp_emit_array_begin(e, "stacks");
  for (uint32_t id = TP_STACK_OVERFLOW; id < n; id++) {
    const tp_stack_t *s = &tab->stacks[id];
    const tp_prof_site_t *site = &tp_prof.sites[id];
    if (!s->key || s->epoch < tab->report_from) continue;
    int64_t exit_n, exit_b;
    tp_prof_stack_live(s, &exit_n, &exit_b);
    int64_t samples = atomic_load_explicit(&site->samples, memory_order_relaxed);
    if (!samples && exit_n <= 0) continue;
    tp_emit_object_begin(e, NULL);
    tp_emit_scalar(e, &f_id, tp_v_u64(id));
    tp_emit_scalar(e, &f_samples, pos(samples));
    tp_emit_scalar(e, &f_alloc_n, tp_v_u64(blocks_of(atomic_load(&site->alloc_count))));
    tp_emit_scalar(e, &f_alloc_b, pos(atomic_load(&site->alloc_bytes)));
    tp_emit_scalar(e, &f_peak_n, tp_v_u64(blocks_of(site->peak_count)));
    tp_emit_scalar(e, &f_peak_b, pos(site->peak_bytes));
    tp_emit_scalar(e, &f_exit_n, tp_v_u64(blocks_of(exit_n)));
    tp_emit_scalar(e, &f_exit_b, pos(exit_b));
    tp_emit_scalar(e, &f_short_n, tp_v_u64(blocks_of(atomic_load(&site->short_count))));
    tp_emit_scalar(e, &f_short_b, pos(atomic_load(&site->short_bytes)));
    uint64_t tiers = atomic_load_explicit(&tab->tiers[id], memory_order_relaxed), sizes[TP_MAX_TIERS];
    size_t k = 0;
    for (unsigned t = 0; t < TP_MAX_TIERS; t++)
      if (tiers >> t & 1) sizes[k++] = tp_tier_size(t);
    tp_emit_list(e, &f_tiers, sizes, k, 0);
    tp_emit_scalar(e, &f_fwd, tp_v_bool(tiers >> TP_LEAK_FWD_BIT & 1));
    if (id == TP_STACK_OVERFLOW) tp_emit_scalar(e, &f_overflow, tp_v_bool(true));
    write_frames(e, s);
    tp_emit_object_end(e);
  }
  tp_emit_array_end(e);
}

static void write_tiers(tp_emitter_t *e) {
  tp_emit_array_begin(e, "tiers");
  for (unsigned t = 0; t < tp_layout.ntiers && t < TP_MAX_TIERS; t++) {
    uint64_t h[TP_PROF_HIST], any = 0;
    for (unsigned b = 0; b < TP_PROF_HIST; b++) any |= h[b] = blocks_of(atomic_load(&tp_prof.hist[t][b]));
    if (!any) continue;
    tp_emit_object_begin(e, NULL);
    tp_emit_scalar(e, &f_size, tp_v_u64(tp_tier_size(t)));
    tp_emit_list(e, &f_hist, h, TP_PROF_HIST, 0);
    tp_emit_scalar(e, &f_bytes, pos(atomic_load(&tp_prof.hist_bytes[t])));
    tp_emit_object_end(e);
  }
  tp_emit_array_end(e);
}

static void write_timeline(tp_emitter_t *e) {
  uint64_t series[TP_PROF_SERIES], v[TP_PROF_SERIES];
  unsigned ns = tp_layout.ntiers < TP_MAX_TIERS ? tp_layout.ntiers : TP_MAX_TIERS;
  for (unsigned t = 0; t < ns; t++) series[t] = tp_tier_size(t);
  series[ns] = 0; /* forwarded to mimalloc */
  tp_emit_object_begin(e, "timeline");
  tp_emit_scalar(e, &f_tick, tp_v_u64(tp_prof.tick_ns));
  tp_emit_list(e, &f_series, series, ns + 1, 0);
  tp_emit_array_begin(e, "points");
  for (uint32_t i = 0; i < tp_prof.npoints; i++) {
    const tp_prof_point_t *pt = &tp_prof.points[i];
    for (unsigned t = 0; t < ns; t++) v[t] = pt->live[t] > 0 ? (uint64_t)pt->live[t] : 0;
    v[ns] = pt->live[TP_MAX_TIERS] > 0 ? (uint64_t)pt->live[TP_MAX_TIERS] : 0;
    tp_emit_object_begin(e, NULL);
    tp_emit_scalar(e, &f_t, tp_v_u64(pt->t_ns));
    tp_emit_list(e, &f_live, v, ns + 1, 0);
    tp_emit_object_end(e);
  }
  tp_emit_array_end(e);
  tp_emit_object_end(e);
}

static void write_profile(tp_emitter_t *e, uint64_t now) {
  char exe[512];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[k > 0 ? k : 0] = '\0';
  tp_emit_begin(e);
  tp_emit_scalar(e, &f_version, tp_v_u64(1));
  tp_emit_scalar(e, &f_pid, tp_v_u64((uint64_t)getpid()));
  tp_emit_scalar(e, &f_exe, tp_v_str(exe));
  tp_emit_scalar(e, &f_start, tp_v_u64(tp_prof.start_unix_ns));
  tp_emit_scalar(e, &f_duration, tp_v_u64(now));
  tp_emit_scalar(e, &f_mode, tp_v_str(tp_leak_mode == TP_LEAKS_SAMPLE ? "sample" : "all"));
  tp_emit_scalar(e, &f_interval,
                 tp_v_u64(tp_leak_mode == TP_LEAKS_SAMPLE ? tp_stats_config.leaks_sample : 1));
  tp_emit_scalar(e, &f_short, tp_v_u64(tp_stats_config.profile_short));
  tp_emit_scalar(e, &f_depth, tp_v_u64(tp_leak_tab.depth));
  tp_emit_scalar(e, &f_lost, tp_v_u64(atomic_load(&tp_prof.ages_lost)));
  tp_emit_scalar(e, &f_dropped, tp_v_u64(atomic_load(&tp_leak_tab.dropped)));
  tp_emit_object_begin(e, "peak");
  tp_emit_scalar(e, &f_bytes, pos(atomic_load(&tp_prof.peak_est)));
  tp_emit_scalar(e, &f_time, tp_v_u64(tp_prof.peak_t_ns));
  tp_emit_scalar(e, &f_snapshots, tp_v_u64(tp_prof.peak_gen));
  tp_emit_object_end(e);
  write_tiers(e);
  write_timeline(e);
  write_stacks(e);
  tp_emit_end(e);
}

/* ------------------------------------------------------------ at exit */

static int open_file(void) {
  char path[sizeof tp_prof.dir + 64], pid[24];
  size_t n = strlen(tp_prof.dir), k = tp_fmt_u64(pid, (uint64_t)getpid());
  memcpy(path, tp_prof.dir, n);
  memcpy(path + n, "/profile.", 9);
  memcpy(path + n + 9, pid, k);
  memcpy(path + n + 9 + k, ".json", 6);
  int fd;
  do {
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) tp_warn("TIERPOOL_PROFILE: cannot write %s: %s", path, strerror(errno));
  return fd;
}

__attribute__((destructor)) static void tp_profile_stop(void) {
  if (!tp_profile_on || !tp_leak_report_acquire()) return;
  tp_leak_settle(); /* puts the hooks did not see, before "live at exit" */
  uint64_t now = tp_prof_now();
  int64_t total = atomic_load(&tp_prof.live_est);
  if (total > atomic_load(&tp_prof.peak_est)) tp_prof_snapshot_peak(now, total);
  tp_prof_record_point(now);
  int fd = open_file();
  if (fd >= 0) {
    static char buf[64 * 1024]; /* report lock held */
    tp_out_t o;
    tp_out_init(&o, buf, sizeof buf, fd);
    tp_emitter_t e;
    tp_emit_init(&e, TP_FORMAT_JSON, &o);
    write_profile(&e, now);
    if (!tp_out_flush(&o)) tp_warn("TIERPOOL_PROFILE: writing the profile failed");
    close(fd);
  }
  tp_leak_report_release();
}
