/* config_fuzz.c - libFuzzer harness for the option parser (core/config.c).
 *
 * Input: byte 0 picks a variable from the option table (TP_OPTIONS, so a
 * new option is fuzzed as soon as it exists) and the way in; the rest is
 * the value (up to its first NUL byte). Two ways in:
 *   - tp_config_set_for_test: a rejected value returns false and leaves the
 *     whole config as it was; an accepted one leaves a sane value;
 *   - setenv + tp_config_load, as at start: every option sane afterwards,
 *     the region big enough for the largest tier.
 * "Sane" is checked per kind from the table's own bounds. Run with
 * -close_fd_mask=2: every rejected value prints a warning.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#define TP_TEST_CHECK_ABORTS /* a failed check is a crash libFuzzer keeps */
#include "tp_test.h"

#define TP_NAME(kind, field, name, def, lo, hi, doc) name,
static const char *const names[] = {TP_OPTIONS(TP_NAME)};
#define NNAMES (sizeof names / sizeof names[0])

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

/* Every field of c within what its kind and bounds allow. */
static void sane(const tp_config_t *c) {
#define TP_SANE_SIZE(f, lo, hi) CHECK(pow2(c->f) && c->f >= (lo) && c->f <= (hi));
#define TP_SANE_UINT(f, lo, hi) CHECK(c->f >= (lo) && c->f <= (hi));
#define TP_SANE_BYTES(f, lo, hi) CHECK(c->f >= (lo) && c->f <= (hi));
#define TP_SANE_BOOL(f, lo, hi) CHECK(c->f == 0 || c->f == 1);
#define TP_SANE_PATH(f, lo, hi) CHECK(memchr(c->f, 0, TP_PATH_MAX) != NULL);
#define TP_SANE_FORMAT(f, lo, hi) CHECK(c->f >= (lo) && c->f <= (hi));
#define TP_SANE_SIGNAL(f, lo, hi) CHECK(c->f == 0 || (c->f >= 1 && c->f <= SIGRTMAX && c->f != SIGKILL && c->f != SIGSTOP));
#define TP_SANE_HARDEN(f, lo, hi) CHECK(c->f >= (lo) && c->f <= (hi));
#define TP_SANE_FAIL(f, lo, hi) sane_fail(&c->f);
#define TP_SANE(kind, field, name, def, lo, hi, doc) TP_SANE_##kind(field, lo, hi)
  TP_OPTIONS(TP_SANE)
#undef TP_SANE
  if (c->ring) CHECK(pow2(c->ring));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static tp_config_t defaults;
  static bool have_defaults;
  if (!have_defaults) {
    for (size_t i = 0; i < NNAMES; i++) unsetenv(names[i]);
    tp_config_load();
    defaults = tp_config;
    sane(&defaults);
    have_defaults = true;
  }
  const char *name = names[(data[0] & 0x7f) % NNAMES];
  char *value = malloc(size);
  CHECK(value);
  memcpy(value, data + 1, size - 1);
  value[size - 1] = '\0';

  if (data[0] & 0x80) {
    /* As at start: through the environment. */
    CHECK(setenv(name, value, 1) == 0);
    tp_config_load();
    sane(&tp_config);
    CHECK(tp_config.region_size >= tp_config.max_tier * 16);
    unsetenv(name);
  } else {
    tp_config_t c = defaults, was = defaults;
    bool ok = tp_config_set_for_test(&c, name, value);
    if (!ok) CHECK(memcmp(&c, &was, sizeof c) == 0); /* the default is kept */
    sane(&c);
    /* A path is kept as given. */
    if (ok && !strcmp(name, "TIERPOOL_STATS")) CHECK(!strcmp(c.stats, value));
  }
  free(value);
  return 0;
}
