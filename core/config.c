/* config.c - the option machinery (see config.h): parse, check, list and
 * suggest, for any layer's table; and the engine's own table. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* secure_getenv */
#endif
#include "config.h"
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

TP_START_DATA tp_config_t tp_config;

#define TP_OPT_STRUCT tp_config_t
static const tp_option_t engine_opts[] = {TP_ENGINE_OPTIONS(TP_OPT_ENTRY)};
#undef TP_OPT_STRUCT
tp_option_table_t tp_engine_options = {
    engine_opts, sizeof engine_opts / sizeof engine_opts[0], &tp_config, 0};

/* ---------------------------------------------------------------- values */

/* "64K", "1M", "4G", "1T", "4096", "0x1000". Rejects signs, junk and overflow. */
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
  case 't': case 'T': shift = 40; end++; break;
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

static const struct { const char *name; int sig; } signal_names[] = {
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"URG", SIGURG}, {"TERM", SIGTERM},
    {"INT", SIGINT}, {"ALRM", SIGALRM}, {"PWR", SIGPWR}};
#define TP_NSIGNAL_NAMES (sizeof signal_names / sizeof signal_names[0])

static bool parse_signal(const char *s, int *out) {
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < TP_NSIGNAL_NAMES; i++)
    if (!strcasecmp(s, signal_names[i].name)) { *out = signal_names[i].sig; return true; }
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

/* "a,b/b2,c": the position of the group holding s (case-insensitive), or -1.
 * An empty alias ("off/") matches the empty string. */
static int parse_choice(const char *choices, const char *s) {
  size_t n = strlen(s);
  int pos = 0;
  for (const char *p = choices;; p++) {
    const char *end = p + strcspn(p, ",/");
    if ((size_t)(end - p) == n && !strncasecmp(p, s, n)) return pos;
    if (*end == '\0') return -1;
    if (*end == ',') pos++;
    p = end;
  }
}

/* The canonical name of choice pos (its first alias) into buf. */
static const char *choice_name(const char *choices, int pos, char *buf, size_t cap) {
  const char *p = choices;
  for (int i = 0; i < pos && p; i++) {
    p = strchr(p, ',');
    if (p) p++;
  }
  size_t n = p ? strcspn(p, ",/") : 0;
  if (n >= cap) n = cap - 1;
  memcpy(buf, p ? p : "", n);
  buf[n] = '\0';
  return buf;
}

/* ------------------------------------------------------------ the rule */

/* A small appender over a caller's buffer (no snprintf: its result is
 * printed by the async-signal-safe log writer). */
typedef struct { char *b; size_t cap, len; } tp_str_t;

static void str_add(tp_str_t *s, const char *t) {
  size_t n = strlen(t);
  if (s->len + n >= s->cap) n = s->cap - 1 - s->len;
  memcpy(s->b + s->len, t, n);
  s->len += n;
  s->b[s->len] = '\0';
}

static void str_size(tp_str_t *s, uint64_t v) {
  char b[24];
  tp_fmt_size(b, v);
  str_add(s, b);
}

static void str_u64(tp_str_t *s, uint64_t v) {
  char b[24];
  tp_fmt_u64(b, v);
  str_add(s, b);
}

/* "text, json or prometheus" from "text,json,prometheus/prom". */
static void str_choices(tp_str_t *s, const char *choices) {
  char name[32];
  int n = 1;
  for (const char *p = choices; *p; p++) n += *p == ',';
  for (int i = 0; i < n; i++) {
    if (i) str_add(s, i == n - 1 ? " or " : ", ");
    str_add(s, choice_name(choices, i, name, sizeof name));
  }
}

/* " from LO to HI", as sizes ("64M") or plain numbers. */
static void str_range(tp_str_t *s, const tp_option_t *o, bool sizes) {
  str_add(s, " from ");
  if (sizes) str_size(s, o->lo);
  else str_u64(s, o->lo);
  str_add(s, " to ");
  if (sizes) str_size(s, o->hi);
  else str_u64(s, o->hi);
}

const char *tp_option_rule(const tp_option_t *o, char *buf, size_t cap) {
  tp_str_t s = {buf, cap, 0};
  buf[0] = '\0';
  switch (o->kind) {
  case TP_OPT_POW2:
    str_add(&s, "a power of two");
    str_range(&s, o, true);
    str_add(&s, " (K/M/G/T suffixes allowed)");
    break;
  case TP_OPT_POW2_OR_0:
    str_add(&s, "0 (off) or a power of two up to ");
    str_u64(&s, o->hi);
    break;
  case TP_OPT_BYTES:
    str_add(&s, "a size in bytes");
    if (o->lo != 0 || o->hi != UINT64_MAX) str_range(&s, o, true);
    str_add(&s, " (K/M/G/T suffixes allowed)");
    break;
  case TP_OPT_UINT:
    str_add(&s, "a whole number");
    str_range(&s, o, false);
    break;
  case TP_OPT_BOOL: str_add(&s, "1/0, yes/no, on/off or true/false"); break;
  case TP_OPT_DEST: str_add(&s, "'stderr' or a file path shorter than 512 bytes"); break;
  case TP_OPT_PATH: str_add(&s, "a path shorter than 512 bytes"); break;
  case TP_OPT_CHOICE: str_choices(&s, o->choices); break;
  case TP_OPT_SIGNAL:
    str_add(&s, "a signal name such as USR2 or RTMIN+3, or a number (not KILL or STOP)");
    break;
  case TP_OPT_FAIL:
    str_add(&s, "nth=N, every=N[,after=S] or random=P[,seed=S] (P from 0 to 1)");
    break;
  }
  return buf;
}

/* ------------------------------------------------------------ parsing */

bool tp_option_parse(const tp_option_t *o, void *cfg, const char *value) {
  char *field = (char *)cfg + o->offset;
  bool ok = false;
  uint64_t v = 0;
  switch (o->kind) {
  case TP_OPT_POW2:
    ok = parse_size(value, &v) && v >= o->lo && v <= o->hi && is_pow2(v);
    break;
  case TP_OPT_POW2_OR_0:
    ok = parse_size(value, &v) && v <= o->hi && (v == 0 || is_pow2(v));
    break;
  case TP_OPT_BYTES:
  case TP_OPT_UINT:
    ok = parse_size(value, &v) && v >= o->lo && v <= o->hi;
    break;
  case TP_OPT_BOOL: {
    bool b;
    if ((ok = parse_bool(value, &b))) *(bool *)field = b;
    break;
  }
  case TP_OPT_DEST:
  case TP_OPT_PATH: {
    size_t n = strlen(value);
    if ((ok = n > 0 && n < TP_PATH_MAX)) memcpy(field, value, n + 1);
    break;
  }
  case TP_OPT_CHOICE: {
    int pos = parse_choice(o->choices, value);
    if ((ok = pos >= 0)) *(int *)field = pos;
    break;
  }
  case TP_OPT_SIGNAL: {
    int sig;
    if ((ok = parse_signal(value, &sig))) *(int *)field = sig;
    break;
  }
  case TP_OPT_FAIL: ok = parse_fail(value, (tp_fail_spec_t *)field); break;
  }
  if (ok && (o->kind == TP_OPT_POW2 || o->kind == TP_OPT_POW2_OR_0 ||
             o->kind == TP_OPT_BYTES || o->kind == TP_OPT_UINT))
    *(uint64_t *)field = v;
  if (!ok) {
    char shown[TP_PRINTABLE_CAP], rule[160];
    tp_printable(value, shown, sizeof shown);
    tp_warn("ignoring %s='%s': expected %s; keeping the default", o->name, shown,
            tp_option_rule(o, rule, sizeof rule));
  }
  return ok;
}

const tp_option_t *tp_option_find(const tp_option_table_t *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->opts[i].name, name)) return &t->opts[i];
  return NULL;
}

/* Every process runs this: tests, not a switch, whose jump table would be
 * the only thing a process without options reads from the library's
 * read-only data (the kernel maps a 64 KiB window around each page read;
 * see tp_environ_names_us). */
TP_RESIDENT void tp_options_defaults(tp_option_table_t *t) {
  for (size_t i = 0; i < t->n; i++) {
    const tp_option_t *o = &t->opts[i];
    char *field = (char *)t->cfg + o->offset;
    if (o->kind == TP_OPT_BOOL)
      *(bool *)field = o->def != 0;
    else if (o->kind == TP_OPT_DEST || o->kind == TP_OPT_PATH)
      field[0] = '\0';
    else if (o->kind == TP_OPT_CHOICE || o->kind == TP_OPT_SIGNAL)
      *(int *)field = (int)o->def;
    else if (o->kind == TP_OPT_FAIL)
      memset(field, 0, sizeof(tp_fail_spec_t));
    else /* POW2, POW2_OR_0, BYTES, UINT */
      *(uint64_t *)field = o->def;
  }
  t->from_env = 0;
}

extern char **environ;

/* Whether the environment holds a TIERPOOL_ variable tierpool may read
 * (none in a setuid/AT_SECURE process, where secure_getenv reads nothing).
 * Without one, the options are the defaults and no name is looked up: the
 * names are the library's read-only data, and a process that reads none of
 * it keeps those pages unmapped (32 KiB of a small program's RSS). The
 * prefix is tested a character at a time, as immediates, for the same
 * reason. */
#define TP_PREFIX_LEN 9 /* "TIERPOOL_" */
TP_RESIDENT static bool names_us(const char *v) {
  return v[0] == 'T' && v[1] == 'I' && v[2] == 'E' && v[3] == 'R' && v[4] == 'P' &&
         v[5] == 'O' && v[6] == 'O' && v[7] == 'L' && v[8] == '_';
}

TP_RESIDENT static bool tp_environ_names_us(void) {
  if (getauxval(AT_SECURE) || !environ) return false;
  for (char **e = environ; *e; e++)
    if (names_us(*e)) return true;
  return false;
}

TP_RESIDENT void tp_options_load(tp_option_table_t *t) {
  tp_options_defaults(t);
  if (!tp_environ_names_us()) return;
  for (size_t i = 0; i < t->n; i++) {
    const char *value = secure_getenv(t->opts[i].name);
    if (value && tp_option_parse(&t->opts[i], t->cfg, value)) t->from_env |= UINT64_C(1) << i;
  }
}

void tp_config_load(void) {
  tp_config_t cfg;
  tp_option_table_t t = tp_engine_options;
  t.cfg = &cfg;
  tp_options_load(&t);
  /* A region must hold at least a few blocks of the largest tier. */
  if (cfg.region_size < cfg.max_tier * 16) {
    tp_warn("TIERPOOL_REGION_SIZE=%llu is too small for TIERPOOL_MAX_TIER=%llu; using %llu",
            (unsigned long long)cfg.region_size, (unsigned long long)cfg.max_tier,
            (unsigned long long)(cfg.max_tier * 16));
    cfg.region_size = cfg.max_tier * 16;
  }
  tp_config = cfg;
  tp_engine_options.from_env = t.from_env;
}

/* ------------------------------------------------- listing, suggesting */

const char *tp_option_value(const tp_option_t *o, const void *cfg, char *buf, size_t cap) {
  const char *field = (const char *)cfg + o->offset;
  tp_str_t s = {buf, cap, 0};
  buf[0] = '\0';
  switch (o->kind) {
  case TP_OPT_POW2: case TP_OPT_POW2_OR_0: case TP_OPT_BYTES:
    str_size(&s, *(const uint64_t *)field);
    break;
  case TP_OPT_UINT: str_u64(&s, *(const uint64_t *)field); break;
  case TP_OPT_BOOL: str_add(&s, *(const bool *)field ? "1" : "0"); break;
  case TP_OPT_DEST: case TP_OPT_PATH: str_add(&s, field); break;
  case TP_OPT_CHOICE: choice_name(o->choices, *(const int *)field, buf, cap); break;
  case TP_OPT_SIGNAL: {
    int sig = *(const int *)field;
    if (!sig) break;
    for (size_t i = 0; i < TP_NSIGNAL_NAMES; i++)
      if (signal_names[i].sig == sig) { str_add(&s, signal_names[i].name); return buf; }
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
      str_add(&s, "RTMIN+");
      str_u64(&s, (uint64_t)(sig - SIGRTMIN));
    } else {
      str_u64(&s, (uint64_t)sig);
    }
    break;
  }
  case TP_OPT_FAIL: {
    const tp_fail_spec_t *f = (const tp_fail_spec_t *)field;
    if (f->mode) str_add(&s, f->text);
    break;
  }
  }
  return buf;
}

void tp_options_list(tp_option_table_t *const *tables, size_t n) {
  for (size_t k = 0; k < n; k++) {
    const tp_option_table_t *t = tables[k];
    for (size_t i = 0; i < t->n; i++) {
      char value[TP_PATH_MAX + 8], shown[TP_PRINTABLE_CAP];
      tp_option_value(&t->opts[i], t->cfg, value, sizeof value);
      tp_printable(value, shown, sizeof shown);
      tp_warn("%s=%s (%s)", t->opts[i].name, shown,
              t->from_env >> i & 1 ? "environment" : "default");
    }
  }
}

unsigned tp_edit_distance(const char *a, const char *b) {
  unsigned row[65];
  size_t na = strnlen(a, 64), nb = strnlen(b, 64);
  for (size_t j = 0; j <= nb; j++) row[j] = (unsigned)j;
  for (size_t i = 1; i <= na; i++) {
    unsigned diag = row[0];
    row[0] = (unsigned)i;
    for (size_t j = 1; j <= nb; j++) {
      unsigned up = row[j];
      unsigned best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

/* Variables of the TIERPOOL_ family that tierpool's tools read, not the
 * library: never "unknown". */
static const char *const tool_variables[] = {"TIERPOOL_LIB", "TIERPOOL_FUZZ_SECONDS",
                                             "TIERPOOL_FUZZ_CC"};

TP_RESIDENT void tp_options_check_environ(tp_option_table_t *const *tables, size_t n) {
  if (!tp_environ_names_us()) return;
  for (char **e = environ; *e; e++) {
    if (!names_us(*e)) continue;
    char name[128];
    size_t len = strcspn(*e, "=");
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, *e, len);
    name[len] = '\0';
    bool known = false;
    for (size_t i = 0; i < sizeof tool_variables / sizeof *tool_variables; i++)
      known |= !strcmp(name, tool_variables[i]);
    const char *best = NULL;
    unsigned best_d = ~0u;
    for (size_t k = 0; k < n && !known; k++) {
      for (size_t i = 0; i < tables[k]->n; i++) {
        const char *real = tables[k]->opts[i].name;
        if (!strcmp(name, real)) { known = true; break; }
        unsigned d = tp_edit_distance(name + TP_PREFIX_LEN, real + TP_PREFIX_LEN);
        if (d < best_d) best_d = d, best = real;
      }
    }
    if (known) continue;
    /* Near enough to be a typo: a third of the name, at most 3 edits. */
    size_t tail = len - TP_PREFIX_LEN;
    unsigned near = tail / 3 < 3 ? (unsigned)(tail / 3) : 3;
    char shown[TP_PRINTABLE_CAP];
    tp_printable(name, shown, sizeof shown);
    if (best && best_d <= (near ? near : 1))
      tp_warn("unknown variable %s ignored; did you mean %s?", shown, best);
    else
      tp_warn("unknown variable %s ignored", shown);
  }
}
