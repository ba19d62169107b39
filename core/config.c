/* config.c - parses the TIERPOOL_ environment variables (table in config.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

tp_config_t tp_config;

/* ---------------------------------------------------------------- values */

/* "64K", "1M", "4G", "4096", "0x1000". Rejects signs, junk and overflow. */
static bool parse_size(const char *s, uint64_t *out) {
  if (*s < '0' || *s > '9') return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s) return false;
  unsigned shift = 0;
  switch (*end) {
  case 'k': case 'K': shift = 10; end++; break;
  case 'm': case 'M': shift = 20; end++; break;
  case 'g': case 'G': shift = 30; end++; break;
  default: break;
  }
  if (shift && (*end == 'i' || *end == 'I')) end++;
  if (shift && (*end == 'b' || *end == 'B')) end++;
  if (*end != '\0') return false;
  if (shift && v > (UINT64_MAX >> shift)) return false;
  *out = (uint64_t)v << shift;
  return true;
}

static bool parse_bool(const char *s, bool *out) {
  static const char *yes[] = {"1", "true", "yes", "on"};
  static const char *no[] = {"0", "false", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (!strcasecmp(s, yes[i])) { *out = true; return true; }
    if (!strcasecmp(s, no[i])) { *out = false; return true; }
  }
  return false;
}

static bool parse_signal(const char *s, int *out) {
  static const struct { const char *name; int sig; } names[] = {
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
      {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"URG", SIGURG}, {"TERM", SIGTERM},
      {"INT", SIGINT}, {"ALRM", SIGALRM}, {"PWR", SIGPWR}};
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcasecmp(s, names[i].name)) { *out = names[i].sig; return true; }
  if (!strncasecmp(s, "RTMIN+", 6)) {
    uint64_t k;
    if (!parse_size(s + 6, &k) || k > (uint64_t)(SIGRTMAX - SIGRTMIN)) return false;
    *out = SIGRTMIN + (int)k;
    return true;
  }
  uint64_t v;
  /* SIGKILL and SIGSTOP cannot be caught; the rest of the range is the caller's choice. */
  if (!parse_size(s, &v) || v < 1 || v > (uint64_t)SIGRTMAX || v == SIGKILL || v == SIGSTOP)
    return false;
  *out = (int)v;
  return true;
}

static bool parse_format(const char *s, enum tp_format *out) {
  if (!strcasecmp(s, "text")) *out = TP_FORMAT_TEXT;
  else if (!strcasecmp(s, "json")) *out = TP_FORMAT_JSON;
  else if (!strcasecmp(s, "prometheus") || !strcasecmp(s, "prom")) *out = TP_FORMAT_PROMETHEUS;
  else return false;
  return true;
}

static bool parse_harden(const char *s, enum tp_harden *out) {
  if (!strcasecmp(s, "default")) *out = TP_HARDEN_DEFAULT;
  else if (!strcasecmp(s, "full")) *out = TP_HARDEN_FULL;
  else return false;
  return true;
}

/* "0.25", "1", "0.000001" -> parts per million; no strtod (it may allocate). */
static bool parse_ppm(const char *s, const char **end, uint64_t *out) {
  uint64_t whole = 0, frac = 0, scale = 1000000;
  if (*s < '0' || *s > '9') return false;
  while (*s >= '0' && *s <= '9') {
    whole = whole * 10 + (uint64_t)(*s++ - '0');
    if (whole > 1) return false;
  }
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') {
      if (scale > 1) {
        scale /= 10;
        frac += (uint64_t)(*s - '0') * scale;
      }
      s++;
    }
  }
  uint64_t v = whole * 1000000 + frac;
  if (v > 1000000) return false;
  *out = v;
  *end = s;
  return true;
}

/* key=value[,key=value]: nth=N | every=N[,after=S] | random=P[,seed=S]. */
static bool parse_fail(const char *text, tp_fail_spec_t *out) {
  const char *s = text;
  tp_fail_spec_t f = {0};
  f.seed = 1;
  char key[16];
  while (*s) {
    size_t k = 0;
    while (*s && *s != '=' && k < sizeof key - 1) key[k++] = *s++;
    key[k] = '\0';
    if (*s++ != '=') return false;
    char num[32];
    size_t m = 0;
    while (*s && *s != ',' && m < sizeof num - 1) num[m++] = *s++;
    num[m] = '\0';
    if (*s == ',') s++;
    else if (*s) return false;
    uint64_t v;
    const char *e;
    if (!strcmp(key, "random")) {
      if (f.mode || !parse_ppm(num, &e, &f.ppm) || *e) return false;
      f.mode = TP_FAIL_RANDOM;
      continue;
    }
    if (!parse_size(num, &v)) return false;
    if (!strcmp(key, "nth") && !f.mode && v > 0) { f.mode = TP_FAIL_NTH; f.n = v; }
    else if (!strcmp(key, "every") && !f.mode && v > 0) { f.mode = TP_FAIL_EVERY; f.n = v; }
    else if (!strcmp(key, "after") && f.mode == TP_FAIL_EVERY) f.after = v;
    else if (!strcmp(key, "seed") && f.mode == TP_FAIL_RANDOM) f.seed = v;
    else return false;
  }
  if (!f.mode) return false;
  size_t len = strlen(text);
  if (len >= sizeof f.text) return false;
  memcpy(f.text, text, len + 1);
  *out = f;
  return true;
}

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }
static bool in_range(uint64_t v, uint64_t lo, uint64_t hi) { return v >= lo && v <= hi; }

/* ------------------------------------------------------ one option each */

#define TP_PARSE_SIZE(field, lo, hi)                                           \
  { uint64_t v; ok = parse_size(value, &v) && in_range(v, lo, hi) && is_pow2(v); \
    if (ok) cfg->field = v; }
#define TP_PARSE_UINT(field, lo, hi)                                           \
  { uint64_t v; ok = parse_size(value, &v) && in_range(v, lo, hi) &&            \
                     (&cfg->field != &cfg->ring || v == 0 || is_pow2(v));      \
    if (ok) cfg->field = v; }
#define TP_PARSE_BOOL(field, lo, hi) ok = parse_bool(value, &cfg->field);
#define TP_PARSE_BYTES(field, lo, hi)                                          \
  { uint64_t v; ok = parse_size(value, &v) && in_range(v, lo, hi); if (ok) cfg->field = v; }
#define TP_PARSE_HARDEN(field, lo, hi) ok = parse_harden(value, &cfg->field);
#define TP_PARSE_FAIL(field, lo, hi) ok = parse_fail(value, &cfg->field);
#define TP_PARSE_PATH(field, lo, hi)                                           \
  { size_t n = strlen(value); ok = n > 0 && n < TP_PATH_MAX;                   \
    if (ok) memcpy(cfg->field, value, n + 1); }
#define TP_PARSE_FORMAT(field, lo, hi) ok = parse_format(value, &cfg->field);
#define TP_PARSE_SIGNAL(field, lo, hi) ok = parse_signal(value, &cfg->field);

#define TP_HINT_SIZE "a power of two in bytes, K/M/G suffixes allowed"
#define TP_HINT_UINT "a whole number"
#define TP_HINT_BOOL "1/0, yes/no, on/off or true/false"
#define TP_HINT_PATH "'stderr' or a file path shorter than 512 bytes"
#define TP_HINT_FORMAT "text, json or prometheus"
#define TP_HINT_SIGNAL "a signal name such as USR2, or its number"
#define TP_HINT_BYTES "a size in bytes, K/M/G suffixes allowed"
#define TP_HINT_HARDEN "default or full"
#define TP_HINT_FAIL "nth=N, every=N[,after=S] or random=P[,seed=S] (P from 0 to 1)"

/* Which kinds have a numeric range worth naming in a warning. */
#define TP_RANGED_SIZE 1
#define TP_RANGED_BYTES 1
#define TP_RANGED_UINT 1
#define TP_RANGED_BOOL 0
#define TP_RANGED_PATH 0
#define TP_RANGED_FORMAT 0
#define TP_RANGED_SIGNAL 0
#define TP_RANGED_HARDEN 0
#define TP_RANGED_FAIL 0

bool tp_config_set_for_test(tp_config_t *cfg, const char *name, const char *value) {
  bool ok = false;
#define TP_TRY(kind, field, vname, def, lo, hi, doc)                           \
  if (!strcmp(name, vname)) {                                                  \
    TP_PARSE_##kind(field, lo, hi);                                            \
    if (!ok) {                                                                 \
      char range[64] = "";                                                     \
      if (TP_RANGED_##kind)                                                    \
        snprintf(range, sizeof range, " from %llu to %llu",                    \
                 (unsigned long long)(lo), (unsigned long long)(hi));          \
      char shown[64 * 4 + 4];                                                  \
      tp_printable(value, shown, sizeof shown);                                   \
      tp_warn("ignoring %s='%s': expected %s%s; keeping the default",          \
              vname, shown, TP_HINT_##kind, range);                            \
    }                                                                          \
    return ok;                                                                 \
  }
  TP_OPTIONS(TP_TRY)
#undef TP_TRY
  return false;
}

static void set_defaults(tp_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
#define TP_DEF_SIZE(field, def) cfg->field = (def);
#define TP_DEF_UINT(field, def) cfg->field = (def);
#define TP_DEF_BOOL(field, def) cfg->field = (def);
#define TP_DEF_PATH(field, def)
#define TP_DEF_FORMAT(field, def) cfg->field = (enum tp_format)(def);
#define TP_DEF_SIGNAL(field, def) cfg->field = (def);
#define TP_DEF_BYTES(field, def) cfg->field = (def);
#define TP_DEF_HARDEN(field, def) cfg->field = (enum tp_harden)(def);
#define TP_DEF_FAIL(field, def)
#define TP_DEF(kind, field, name, def, lo, hi, doc) TP_DEF_##kind(field, def)
  TP_OPTIONS(TP_DEF)
#undef TP_DEF
}

void tp_config_load(void) {
  tp_config_t cfg;
  set_defaults(&cfg);
#define TP_LOAD(kind, field, name, def, lo, hi, doc)                           \
  { const char *value = secure_getenv(name);                                    \
    if (value) tp_config_set_for_test(&cfg, name, value); }
  TP_OPTIONS(TP_LOAD)
#undef TP_LOAD
  /* A region must hold at least a few blocks of the largest tier. */
  if (cfg.region_size < cfg.max_tier * 16) {
    tp_warn("TIERPOOL_REGION_SIZE=%llu is too small for TIERPOOL_MAX_TIER=%llu; using %llu",
            (unsigned long long)cfg.region_size, (unsigned long long)cfg.max_tier,
            (unsigned long long)(cfg.max_tier * 16));
    cfg.region_size = cfg.max_tier * 16;
  }
  tp_config = cfg;
}
