/* config.h - the engine's TIERPOOL_ options, and the one option machinery.
 *
 * Each layer declares its options once, as an X-macro table: kind, field,
 * variable, default, range, choices and the line of documentation. The
 * table generates the layer's config struct and a tp_option_t array; the
 * code here parses, checks, lists and documents any such array. The engine's
 * table is below (TP_ENGINE_OPTIONS); the dump and leak options are stats/'s
 * (stats/options.h): core knows nothing of dumps.
 *
 * Every variable is read once, with secure_getenv (a setuid/AT_SECURE
 * process ignores them all). A value that does not parse or is out of range
 * prints one warning that states the rule, and keeps the default. Nothing
 * here allocates.
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h" /* tp_warn, tp_printable */

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

/* ------------------------------------------------------------- the kinds */

/* POW2       bytes, a power of two in [lo, hi], K/M/G suffixes
 * POW2_OR_0  0, or a power of two in [1, hi]
 * BYTES      bytes in [lo, hi], K/M/G suffixes
 * UINT       a whole number in [lo, hi]
 * BOOL       1/0, yes/no, on/off, true/false
 * DEST       'stderr' or a file path (shorter than TP_PATH_MAX)
 * PATH       a path (shorter than TP_PATH_MAX)
 * CHOICE     one of `choices`: "a,b/b2,c" (value = position; '/' adds an alias)
 * SIGNAL     a signal name (USR2, SIGUSR2, RTMIN+3) or number; 0 is unset
 * FAIL       nth=N | every=N[,after=S] | random=P[,seed=S] */
enum tp_opt_kind {
  TP_OPT_POW2, TP_OPT_POW2_OR_0, TP_OPT_BYTES, TP_OPT_UINT, TP_OPT_BOOL, TP_OPT_DEST,
  TP_OPT_PATH, TP_OPT_CHOICE, TP_OPT_SIGNAL, TP_OPT_FAIL
};

/* TIERPOOL_FAIL: which allocations fail on purpose. */
enum tp_fail_mode { TP_FAIL_OFF = 0, TP_FAIL_NTH, TP_FAIL_EVERY, TP_FAIL_RANDOM };
typedef struct tp_fail_spec_s {
  enum tp_fail_mode mode;
  uint64_t n;     /* NTH: the Nth allocation (1-based); EVERY: every Nth */
  uint64_t after; /* EVERY: only after this many allocations */
  uint64_t ppm;   /* RANDOM: probability in parts per million */
  uint64_t seed;  /* RANDOM: PRNG seed */
  char text[64];  /* the value as given, for dumps */
} tp_fail_spec_t;

#define TP_PATH_MAX 512

/* The C type each kind is stored in. */
#define TP_OPT_FIELD_POW2(f) uint64_t f;
#define TP_OPT_FIELD_POW2_OR_0(f) uint64_t f;
#define TP_OPT_FIELD_BYTES(f) uint64_t f;
#define TP_OPT_FIELD_UINT(f) uint64_t f;
#define TP_OPT_FIELD_BOOL(f) bool f;
#define TP_OPT_FIELD_DEST(f) char f[TP_PATH_MAX]; /* empty: unset */
#define TP_OPT_FIELD_PATH(f) char f[TP_PATH_MAX]; /* empty: unset */
#define TP_OPT_FIELD_CHOICE(f) int f;            /* position in the choices */
#define TP_OPT_FIELD_SIGNAL(f) int f;            /* 0: unset */
#define TP_OPT_FIELD_FAIL(f) tp_fail_spec_t f;
#define TP_OPT_FIELD(kind, field, name, def, lo, hi, choices, doc) TP_OPT_FIELD_##kind(field)

/* One option, as the machinery sees it. */
typedef struct tp_option_s {
  const char *name;    /* "TIERPOOL_MAX_TIER" */
  const char *key;     /* "max_tier": the field, and its key in a dump's "config" */
  enum tp_opt_kind kind;
  size_t offset;       /* of the field in its layer's config struct */
  uint64_t def, lo, hi;
  const char *choices; /* CHOICE only */
  const char *doc;     /* one sentence or three, Markdown: the README's column */
} tp_option_t;

/* One entry of a tp_option_t array, for a struct named by TP_OPT_STRUCT. */
#define TP_OPT_ENTRY(kind, field, vname, def, lo, hi, choices, doc)            \
  {vname, #field, TP_OPT_##kind, offsetof(TP_OPT_STRUCT, field), (uint64_t)(def), \
   (uint64_t)(lo), (uint64_t)(hi), choices, doc},

/* A layer's options and the struct they fill. */
typedef struct tp_option_table_s {
  const tp_option_t *opts;
  size_t n;
  void *cfg;          /* the layer's config struct */
  uint64_t from_env;  /* bit i: opts[i] was given in the environment (and accepted) */
} tp_option_table_t;

/* ------------------------------------------------- the engine's options */

enum tp_harden { TP_HARDEN_DEFAULT = 0, TP_HARDEN_FULL = 1 };

#define TP_ENGINE_OPTIONS(X)                                                     \
  X(POW2, max_tier, "TIERPOOL_MAX_TIER", 1u << 20, 256, 1u << 30, NULL,          \
    "Largest tier in bytes (a power of two, 256 to 1G). Larger requests go to mimalloc, or from " \
    "1 MiB to mappings of their own (`TIERPOOL_LARGE_CACHE`).")                  \
  X(POW2, cache_size, "TIERPOOL_CACHE_SIZE", 1u << 20, 4096, 1u << 30, NULL,      \
    "Bytes one thread may cache per tier before it hands its list to the central pool " \
    "(a power of two, 4K to 1G); the list holds between 2 and 256 blocks.")      \
  X(POW2_OR_0, cache_large, "TIERPOOL_CACHE_LARGE", 8u << 20, 0, 1u << 30, NULL, \
    "Bytes that one thread's lists of the tiers of 64 KiB and more may hold together past " \
    "`TIERPOOL_CACHE_SIZE` each, while the thread refills them often (a power of two up to " \
    "1G; a list holds at most 256 blocks); a list it stopped using gives its part back. " \
    "`0`: each list holds `TIERPOOL_CACHE_SIZE` at most.")                       \
  X(POW2, region_size, "TIERPOOL_REGION_SIZE", 1ull << 32, 1ull << 26, 1ull << 36, NULL, \
    "Address space reserved per tier (a power of two, 64M to 64G; at least 16 blocks of " \
    "the largest tier). A full region forwards to mimalloc.")                    \
  X(POW2_OR_0, ring, "TIERPOOL_RING", 256, 0, 65536, NULL,                       \
    "Recent request lengths kept per thread (a power of two up to 65536; `0` turns the ring off).") \
  X(CHOICE, harden, "TIERPOOL_HARDEN", TP_HARDEN_DEFAULT, 0, 0, "default,full",  \
    "`default`: cheap checks of every free; `full`: exact double-free detection with a state " \
    "bit per block (slow mode).")                                                \
  X(BYTES, limit, "TIERPOOL_LIMIT", 0, 0, UINT64_MAX, NULL,                      \
    "Cap on the bytes in use (pooled blocks at their tier size plus forwarded blocks); past " \
    "it allocation returns NULL with ENOMEM. `0`: no cap (slow mode when set).") \
  X(FAIL, fail, "TIERPOOL_FAIL", 0, 0, 0, NULL,                                  \
    "Make chosen allocations fail with ENOMEM: `nth=N` (the Nth), `every=N[,after=S]`, " \
    "`random=P[,seed=S]` (probability P from 0 to 1, reproducible with the seed) (slow mode).") \
  X(BYTES, retain, "TIERPOOL_RETAIN", 64u << 20, 0, UINT64_MAX, NULL,            \
    "Free bytes a tier of 8 KiB or more keeps in its central pool before it gives the pages " \
    "of further blocks back with `madvise`.")                                    \
  X(BYTES, large_cache, "TIERPOOL_LARGE_CACHE", 128u << 20, 0, 1ull << 40, NULL,  \
    "Bytes of freed blocks of 1 MiB and more (past the tiers) kept mapped for the next large " \
    "request, instead of unmapped at free ([docs/large-blocks.md](docs/large-blocks.md)). " \
    "`0`: unmap at free.")                                                       \
  X(UINT, large_decay_ms, "TIERPOOL_LARGE_DECAY_MS", 1000, 0, 3600000, NULL,     \
    "Milliseconds such a freed block stays mapped before it is given back (checked at each " \
    "large malloc and free, and by `malloc_trim`; 0 to 3600000). `0`: unmap at free.") \
  X(BOOL, verbose, "TIERPOOL_VERBOSE", 0, 0, 1, NULL,                            \
    "At start, list every option in effect on stderr (the listing `tierpool options` reads).")

typedef struct tp_config_s {
  TP_ENGINE_OPTIONS(TP_OPT_FIELD)
} tp_config_t;

/* Read-only after tp_config_load. */
extern tp_config_t tp_config;
/* The engine's table, filling tp_config. */
extern tp_option_table_t tp_engine_options;

/* Loads the engine's defaults, then its variables. Idempotent; never
 * allocates. */
void tp_config_load(void);

/* ---------------------------------------------------- the machinery */

/* Sets every option of t to its default (from_env cleared). */
void tp_options_defaults(tp_option_table_t *t);
/* Reads every option of t from the environment (secure_getenv). */
void tp_options_load(tp_option_table_t *t);
/* Parses value for option o into cfg: true when accepted; false, with one
 * warning stating the rule, when rejected (cfg is then unchanged). This is
 * the production parser; tests and the fuzzer call it too. */
bool tp_option_parse(const tp_option_t *o, void *cfg, const char *value);
/* The option named name in t, or NULL. */
const tp_option_t *tp_option_find(const tp_option_table_t *t, const char *name);
/* The value of o in cfg as the variable would be written ("1M", "json",
 * "USR2", "" when unset) into buf[cap]; returns buf. */
const char *tp_option_value(const tp_option_t *o, const void *cfg, char *buf, size_t cap);
/* The rule a value must follow, as a warning states it, into buf[cap]. */
const char *tp_option_rule(const tp_option_t *o, char *buf, size_t cap);

/* Warns once for each TIERPOOL_ variable in the environment that none of
 * the tables declares (and no tierpool tool reads), with the closest real
 * name when one is near. Nothing in an AT_SECURE process. */
void tp_options_check_environ(tp_option_table_t *const *tables, size_t n);
/* The listing of the options in effect, one line each, on stderr:
 *   tierpool: TIERPOOL_MAX_TIER=1M (default)
 *   tierpool: TIERPOOL_RING=1024 (environment) */
void tp_options_list(tp_option_table_t *const *tables, size_t n);
/* Levenshtein distance between two short strings (at most 64 bytes each
 * are compared); exposed for the tests. */
unsigned tp_edit_distance(const char *a, const char *b);

#pragma GCC visibility pop

#endif
