/* test_options.c - the option machinery (core/config.c) over both tables
 * (the engine's, stats/options.h): parsing, the rule each warning states,
 * the listing, unknown names with their suggestion. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "options.h"

static tp_config_t ecfg;
static tp_stats_config_t scfg;

/* Parses NAME=value into the test's own structs, as the loader would. */
static bool set(const char *name, const char *value) {
  const tp_option_t *o = tp_option_find(&tp_engine_options, name);
  void *cfg = &ecfg;
  if (!o) {
    o = tp_option_find(&tp_stats_options, name);
    cfg = &scfg;
  }
  cr_assert_not_null(o, "%s is in no table", name);
  return tp_option_parse(o, cfg, value);
}

/* The warning that NAME=value prints (empty if accepted). */
struct nv { const char *name, *value; };
static void set_nv(const void *arg) {
  const struct nv *p = arg;
  set(p->name, p->value);
}
static const char *warning(const char *name, const char *value) {
  struct nv p = {name, value};
  return capture_stderr(set_nv, &p);
}

Test(options, sizes_with_suffixes) {
  cr_assert(set("TIERPOOL_MAX_TIER", "64K"));
  cr_assert_eq(ecfg.max_tier, 65536);
  cr_assert(set("TIERPOOL_MAX_TIER", "2MiB"));
  cr_assert_eq(ecfg.max_tier, 2 << 20);
  cr_assert(set("TIERPOOL_CACHE_SIZE", "0x10000"));
  cr_assert_eq(ecfg.cache_size, 65536);
}

Test(options, bad_values_are_rejected_and_keep_the_old_value) {
  ecfg.max_tier = 1 << 20;
  const char *bad[] = {"", "abc", "-1", "1000", "3M", "64Q", "99999999999999999999G", "1 M", "2G"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_not(set("TIERPOOL_MAX_TIER", bad[i]), "%s", bad[i]);
    cr_assert_eq(ecfg.max_tier, 1 << 20);
  }
  cr_assert_not(set("TIERPOOL_RING", "100"));
  cr_assert(set("TIERPOOL_RING", "0"));
  cr_assert_eq(ecfg.ring, 0);
}

Test(options, warnings_state_the_real_rule) {
  cr_assert_str_eq(warning("TIERPOOL_RING", "100"),
                   "tierpool: ignoring TIERPOOL_RING='100': expected 0 (off) or a power of two "
                   "up to 65536; keeping the default\n");
  cr_assert_str_eq(warning("TIERPOOL_LEAKS", ""),
                   "tierpool: ignoring TIERPOOL_LEAKS='': expected off, all or sample; keeping "
                   "the default\n");
  cr_assert_str_eq(warning("TIERPOOL_MAX_TIER", "3M"),
                   "tierpool: ignoring TIERPOOL_MAX_TIER='3M': expected a power of two from 256 "
                   "to 1G (K/M/G/T suffixes allowed); keeping the default\n");
  cr_assert_str_eq(warning("TIERPOOL_INTERVAL", "90000"),
                   "tierpool: ignoring TIERPOOL_INTERVAL='90000': expected a whole number from 0 "
                   "to 86400; keeping the default\n");
  cr_assert_str_eq(warning("TIERPOOL_FORMAT", "xml"),
                   "tierpool: ignoring TIERPOOL_FORMAT='xml': expected text, json or prometheus; "
                   "keeping the default\n");
  cr_assert_str_eq(warning("TIERPOOL_LEAKS_SAMPLE", "0"),
                   "tierpool: ignoring TIERPOOL_LEAKS_SAMPLE='0': expected a size in bytes from 1 "
                   "to 1G (K/M/G/T suffixes allowed); keeping the default\n");
  cr_assert_str_eq(warning("TIERPOOL_RING", "1024"), "");
}

Test(options, choices_booleans_and_signals) {
  cr_assert(set("TIERPOOL_FORMAT", "JSON"));
  cr_assert_eq(scfg.format, TP_FORMAT_JSON);
  cr_assert(set("TIERPOOL_FORMAT", "prom"));
  cr_assert_eq(scfg.format, TP_FORMAT_PROMETHEUS);
  cr_assert_not(set("TIERPOOL_FORMAT", "xml"));
  cr_assert_eq(scfg.format, TP_FORMAT_PROMETHEUS);
  cr_assert(set("TIERPOOL_LEAKS", "sample"));
  cr_assert_eq(scfg.leaks, 2);
  cr_assert(set("TIERPOOL_LEAKS", "none"));
  cr_assert_eq(scfg.leaks, 0);
  cr_assert(set("TIERPOOL_LIVE", "yes"));
  cr_assert(scfg.live);
  cr_assert_not(set("TIERPOOL_LIVE", "maybe"));
  cr_assert(set("TIERPOOL_SIGNAL", "SIGUSR2"));
  cr_assert_eq(scfg.signal, SIGUSR2);
  cr_assert(set("TIERPOOL_SIGNAL", "usr1"));
  cr_assert_eq(scfg.signal, SIGUSR1);
  cr_assert_not(set("TIERPOOL_SIGNAL", "9"));
  cr_assert_not(set("TIERPOOL_SIGNAL", "NOPE"));
  cr_assert(set("TIERPOOL_HARDEN", "full"));
  cr_assert_eq(ecfg.harden, TP_HARDEN_FULL);
}

/* What the listing prints for each option parses back to the same value:
 * `tierpool options` and the dump's config can be fed back as they are. */
Test(options, values_round_trip) {
  tp_option_table_t e = tp_engine_options, st = tp_stats_options;
  e.cfg = &ecfg;
  st.cfg = &scfg;
  tp_options_defaults(&e);
  tp_options_defaults(&st);
  tp_option_table_t *tables[2] = {&e, &st};
  cr_assert(set("TIERPOOL_SIGNAL", "RTMIN+3"));
  cr_assert(set("TIERPOOL_FAIL", "every=3,after=10"));
  cr_assert(set("TIERPOOL_STATS", "/tmp/x.%p"));
  void *cfgs[2] = {&ecfg, &scfg};
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < tables[k]->n; i++) {
      const tp_option_t *o = &tables[k]->opts[i];
      char text[600];
      tp_option_value(o, cfgs[k], text, sizeof text);
      if (!text[0]) continue; /* unset */
      char copy[sizeof(tp_stats_config_t) > sizeof(tp_config_t) ? sizeof(tp_stats_config_t)
                                                                  : sizeof(tp_config_t)];
      memcpy(copy, cfgs[k], k ? sizeof scfg : sizeof ecfg);
      cr_assert(tp_option_parse(o, copy, text), "%s=%s", o->name, text);
      cr_assert_eq(memcmp(copy, cfgs[k], k ? sizeof scfg : sizeof ecfg), 0, "%s=%s", o->name,
                   text);
    }
  }
}

static void list_all(const void *arg) {
  (void)arg;
  tp_options_list(tp_all_options, 2);
}

Test(options, listing_has_one_line_per_option) {
  tp_options_load(&tp_engine_options);
  setenv("TIERPOOL_RING", "1024", 1);
  tp_options_load(&tp_engine_options);
  unsetenv("TIERPOOL_RING");
  tp_options_load(&tp_stats_options);
  const char *out = capture_stderr(list_all, NULL);
  cr_assert(strstr(out, "tierpool: TIERPOOL_MAX_TIER=1M (default)\n"), "%s", out);
  cr_assert(strstr(out, "tierpool: TIERPOOL_RING=1K (environment)\n"), "%s", out);
  cr_assert(strstr(out, "tierpool: TIERPOOL_STATS= (default)\n"), "%s", out);
  cr_assert(strstr(out, "tierpool: TIERPOOL_FORMAT=text (default)\n"), "%s", out);
  size_t lines = 0;
  for (const char *p = out; *p; p++) lines += *p == '\n';
  cr_assert_eq(lines, tp_engine_options.n + tp_stats_options.n);
}

static void check_env(const void *arg) {
  (void)arg;
  tp_options_check_environ((tp_option_table_t *const *)tp_all_options, 2);
}

Test(options, unknown_names_warn_with_a_suggestion) {
  setenv("TIERPOOL_MAXTIER", "4K", 1);
  setenv("TIERPOOL_LEAK", "all", 1);
  setenv("TIERPOOL_COMPLETELY_DIFFERENT", "1", 1);
  setenv("TIERPOOL_LIB", "/x.so", 1); /* the CLI's own: never unknown */
  setenv("TIERPOOL_RING", "64", 1);
  const char *out = capture_stderr(check_env, NULL);
  cr_assert(strstr(out, "tierpool: unknown variable TIERPOOL_MAXTIER ignored; did you mean "
                        "TIERPOOL_MAX_TIER?\n"), "%s", out);
  cr_assert(strstr(out, "tierpool: unknown variable TIERPOOL_LEAK ignored; did you mean "
                        "TIERPOOL_LEAKS?\n"), "%s", out);
  cr_assert(strstr(out, "tierpool: unknown variable TIERPOOL_COMPLETELY_DIFFERENT ignored\n"),
            "%s", out);
  cr_assert_null(strstr(out, "TIERPOOL_LIB"), "%s", out);
  cr_assert_null(strstr(out, "TIERPOOL_RING"), "%s", out);
}

Test(options, edit_distance) {
  cr_assert_eq(tp_edit_distance("MAXTIER", "MAX_TIER"), 1);
  cr_assert_eq(tp_edit_distance("", "ABC"), 3);
  cr_assert_eq(tp_edit_distance("KITTEN", "SITTING"), 3);
  cr_assert_eq(tp_edit_distance("SAME", "SAME"), 0);
}
