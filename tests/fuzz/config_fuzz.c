/* config_fuzz.c - libFuzzer harness for the option machinery (core/config.c)
 * over both option tables (the engine's and stats/options.h).
 *
 * Input: byte 0 picks an option from the tables (so a new option is fuzzed
 * as soon as it exists) and the way in; the rest is the value (up to its
 * first NUL byte). Two ways in:
 *   - tp_option_parse: a rejected value returns false and leaves the whole
 *     config as it was; an accepted one leaves a sane value that lists back
 *     (tp_option_value) to text that parses to the same config;
 *   - setenv + the loaders, as at start: every option sane afterwards, the
 *     region big enough for the largest tier.
 * "Sane" is checked per kind from the table's own bounds. Run with
 * -close_fd_mask=2: every rejected value prints a warning.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#define TP_TEST_CHECK_ABORTS /* a failed check is a crash libFuzzer keeps */
#include "tp_test.h"


static bool pow2(uint64_t v) { return v && !(v & (v - 1)); }

static void sane_fail(const tp_fail_spec_t *f) {
  CHECK(memchr(f->text, 0, sizeof f->text) != NULL);
  switch (f->mode) {
  case TP_FAIL_OFF: break;
  case TP_FAIL_NTH: case TP_FAIL_EVERY: CHECK(f->n > 0); break;
  case TP_FAIL_RANDOM: CHECK(f->ppm <= 1000000); break;
  default: CHECK(!"unknown TIERPOOL_FAIL mode");
  }
}

/* Every field of a table's config within what its kind and bounds allow. */
static void sane(const tp_option_table_t *t) {
  for (size_t i = 0; i < t->n; i++) {
    const tp_option_t *o = &t->opts[i];
    const char *f = (const char *)t->cfg + o->offset;
    uint64_t v = 0;
    if (o->kind <= TP_OPT_UINT) memcpy(&v, f, sizeof v); /* the uint64_t kinds */
    switch (o->kind) {
    case TP_OPT_POW2: CHECK(pow2(v) && v >= o->lo && v <= o->hi); break;
    case TP_OPT_POW2_OR_0: CHECK(v == 0 || (pow2(v) && v <= o->hi)); break;
    case TP_OPT_BYTES: case TP_OPT_UINT: CHECK(v >= o->lo && v <= o->hi); break;
    case TP_OPT_BOOL: CHECK(*(const bool *)f == 0 || *(const bool *)f == 1); break;
    case TP_OPT_DEST: case TP_OPT_PATH: CHECK(memchr(f, 0, TP_PATH_MAX) != NULL); break;
    case TP_OPT_CHOICE: {
      int n = 1;
      for (const char *p = o->choices; *p; p++) n += *p == ',';
      CHECK(*(const int *)f >= 0 && *(const int *)f < n);
      break;
    }
    case TP_OPT_SIGNAL: {
      int s = *(const int *)f;
      CHECK(s == 0 || (s >= 1 && s <= SIGRTMAX && s != SIGKILL && s != SIGSTOP));
      break;
    }
    case TP_OPT_FAIL: sane_fail((const tp_fail_spec_t *)f); break;
    }
  }
}

/* Byte 0 -> one option of the two tables. */
static const tp_option_t *pick(uint8_t b, tp_option_table_t **table) {
  size_t n = tp_engine_options.n + tp_stats_options.n, i = (b & 0x7f) % n;
  *table = i < tp_engine_options.n ? &tp_engine_options : &tp_stats_options;
  return &(*table)->opts[i < tp_engine_options.n ? i : i - tp_engine_options.n];
}

static void load_all(void) {
  tp_config_load();
  tp_options_load(&tp_stats_options);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static tp_config_t edefaults;
  static tp_stats_config_t sdefaults;
  static bool have_defaults;
  if (!have_defaults) {
    for (size_t k = 0; k < 2; k++)
      for (size_t i = 0; i < tp_all_options[k]->n; i++) unsetenv(tp_all_options[k]->opts[i].name);
    load_all();
    edefaults = tp_config;
    sdefaults = tp_stats_config;
    sane(&tp_engine_options);
    sane(&tp_stats_options);
    have_defaults = true;
  }
  tp_option_table_t *table;
  const tp_option_t *o = pick(data[0], &table);
  char *value = malloc(size);
  CHECK(value);
  memcpy(value, data + 1, size - 1);
  value[size - 1] = '\0';

  if (data[0] & 0x80) {
    /* As at start: through the environment. */
    CHECK(setenv(o->name, value, 1) == 0);
    load_all();
    sane(&tp_engine_options);
    sane(&tp_stats_options);
    CHECK(tp_config.region_size >= tp_config.max_tier * 16);
    unsetenv(o->name);
  } else {
    /* Straight into a copy of the defaults. */
    tp_config_t ec = edefaults;
    tp_stats_config_t sc = sdefaults;
    bool engine = table == &tp_engine_options;
    void *cfg = engine ? (void *)&ec : (void *)&sc;
    size_t bytes = engine ? sizeof ec : sizeof sc;
    char was[sizeof ec > sizeof sc ? sizeof ec : sizeof sc];
    memcpy(was, cfg, bytes);
    bool ok = tp_option_parse(o, cfg, value);
    if (!ok) CHECK(memcmp(cfg, was, bytes) == 0); /* the default is kept */
    tp_option_table_t t = *table;
    t.cfg = cfg;
    sane(&t);
    if (ok) {
      /* What the listing shows parses back to the same config. */
      char text[TP_PATH_MAX + 8];
      tp_option_value(o, cfg, text, sizeof text);
      memcpy(was, cfg, bytes);
      if (text[0]) CHECK(tp_option_parse(o, was, text) && memcmp(cfg, was, bytes) == 0);
      /* A path is kept as given. */
      if (o->kind == TP_OPT_DEST || o->kind == TP_OPT_PATH) CHECK(!strcmp(text, value));
    }
  }
  free(value);
  return 0;
}
