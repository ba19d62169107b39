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

void tp_warn(const char *fmt, ...) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "tierpool: ");
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0) m = 0;
  size_t len = (size_t)n + ((size_t)m < sizeof buf - (size_t)n - 1 ? (size_t)m : sizeof buf - (size_t)n - 2);
  buf[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, buf, len);
  (void)w;
}

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

bool tp_config_set_for_test(tp_config_t *cfg, const char *name, const char *value) {
  bool ok = false;
#define TP_TRY(kind, field, vname, def, lo, hi, doc)                           \
  if (!strcmp(name, vname)) {                                                  \
    TP_PARSE_##kind(field, lo, hi);                                            \
    if (!ok) {                                                                 \
      tp_warn("ignoring %s='%.64s%s': expected %s between %llu and %llu; "     \
              "keeping the default", vname, value, strlen(value) > 64 ? "..." : "", \
              TP_HINT_##kind, (unsigned long long)(lo), (unsigned long long)(hi)); \
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
