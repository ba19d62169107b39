/* config.h - every TIERPOOL_ environment variable, declared once.
 *
 * TP_OPTIONS is the single table of options: type, field, variable, default,
 * and the line of documentation the README table repeats. The parser
 * (config.c) reads each variable once, at engine start, with secure_getenv
 * (so a setuid/AT_SECURE process ignores them all). A value that does not
 * parse or is out of range prints one warning naming the variable and keeps
 * the default. Parsing never allocates.
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

enum tp_format { TP_FORMAT_TEXT = 0, TP_FORMAT_JSON = 1, TP_FORMAT_PROMETHEUS = 2 };
enum tp_harden { TP_HARDEN_DEFAULT = 0, TP_HARDEN_FULL = 1 };

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

/* X(kind, field, NAME, default, min, max, doc)
 * kinds: SIZE (bytes, K/M/G suffixes, power of two), BYTES (the same, any
 * value), UINT, BOOL, PATH, FORMAT, SIGNAL (name like USR2 / SIGUSR2, or a
 * number), HARDEN (default/full), FAIL (nth=N, every=N[,after=S],
 * random=P[,seed=S]). */
#define TP_OPTIONS(X)                                                            \
  X(SIZE, max_tier, "TIERPOOL_MAX_TIER", 1u << 20, 256, 1u << 30,                \
    "Largest tier in bytes (power of two, 256 to 1G). Larger requests go to mimalloc, or from 1 MiB to mappings of their own.") \
  X(SIZE, cache_size, "TIERPOOL_CACHE_SIZE", 1u << 20, 4096, 1u << 30,           \
    "Bytes one thread may cache per tier before it flushes a batch to the central pool (power of two).") \
  X(SIZE, region_size, "TIERPOOL_REGION_SIZE", 1ull << 32, 1ull << 26, 1ull << 36, \
    "Address space reserved per tier (power of two, 64M to 64G). A full region forwards to mimalloc.") \
  X(UINT, ring, "TIERPOOL_RING", 256, 0, 65536,                                  \
    "Recent request lengths kept per thread (power of two; 0 turns the ring off).") \
  X(PATH, stats, "TIERPOOL_STATS", 0, 0, 0,                                      \
    "Where to dump the stats: 'stderr' or a file path ('%p' becomes the pid). Unset: no dump.") \
  X(FORMAT, format, "TIERPOOL_FORMAT", TP_FORMAT_TEXT, 0, 2,                     \
    "Dump format: text, json or prometheus.")                                    \
  X(SIGNAL, signal, "TIERPOOL_SIGNAL", 0, 1, 64,                                 \
    "Dump when this signal arrives (e.g. USR2). Unset: no signal handler.")      \
  X(UINT, interval, "TIERPOOL_INTERVAL", 0, 0, 86400,                            \
    "Dump every N seconds (appending). 0: off.")                                 \
  X(BOOL, at_exit, "TIERPOOL_AT_EXIT", 1, 0, 1,                                  \
    "Dump at exit when TIERPOOL_STATS is set (1/0, yes/no, on/off, true/false).") \
  X(BOOL, live, "TIERPOOL_LIVE", 0, 0, 1,                                        \
    "Publish the counters in a shared-memory file for 'tierpool top PID'.")      \
  X(HARDEN, harden, "TIERPOOL_HARDEN", TP_HARDEN_DEFAULT, 0, 1,                  \
    "default: cheap checks of frees; full: exact double-free detection with a state bit per block.") \
  X(BYTES, limit, "TIERPOOL_LIMIT", 0, 0, UINT64_MAX,                            \
    "Cap on the bytes in use (pooled blocks at their tier size, plus forwarded blocks); past it allocation fails with ENOMEM. 0: no cap.") \
  X(FAIL, fail, "TIERPOOL_FAIL", 0, 0, 0,                                        \
    "Make chosen allocations fail with ENOMEM: nth=N, every=N[,after=S] or random=P[,seed=S].") \
  X(BYTES, retain, "TIERPOOL_RETAIN", 64u << 20, 0, UINT64_MAX,                  \
    "Free bytes a tier of 8 KiB or more keeps in its central pool before it gives pages back (madvise).") \
  X(BYTES, large_cache, "TIERPOOL_LARGE_CACHE", 64u << 20, 0, 1ull << 40,        \
    "Bytes of freed blocks of 1 MiB and more kept mapped for reuse (0: unmap at free).") \
  X(UINT, large_decay_ms, "TIERPOOL_LARGE_DECAY_MS", 1000, 0, 3600000,            \
    "Milliseconds a freed block of 1 MiB or more stays mapped for reuse before it is unmapped (0: unmap at free).") \
  X(PATH, leaks, "TIERPOOL_LEAKS", 0, 0, 0,                                       \
    "Leak attribution: all (the stack of every get) or sample (sampled by bytes). Unset or off: none (slow mode when set).") \
  X(UINT, leaks_depth, "TIERPOOL_LEAKS_DEPTH", 32, 1, 64,                         \
    "Frames kept per captured stack (1 to 64).")                                 \
  X(BYTES, leaks_sample, "TIERPOOL_LEAKS_SAMPLE", 512u << 10, 1, 1ull << 30,       \
    "TIERPOOL_LEAKS=sample: mean bytes between two captured gets (1 to 1G).")     \
  X(UINT, leaks_top, "TIERPOOL_LEAKS_TOP", 20, 0, 1000000,                        \
    "Stacks a leak report shows, most bytes first (0: all).")                   \
  X(PATH, profile, "TIERPOOL_PROFILE", 0, 0, 0,                                   \
    "Heap profile: write DIR/profile.<pid>.json at exit (sites, peak, tiers, timeline). Turns on TIERPOOL_LEAKS=sample unless it is all.") \
  X(UINT, profile_short, "TIERPOOL_PROFILE_SHORT", 1000, 1, 60000000,             \
    "TIERPOOL_PROFILE: a block freed within this many microseconds of its allocation counts as short-lived.")

#define TP_FIELD_SIZE(f) uint64_t f;
#define TP_FIELD_UINT(f) uint64_t f;
#define TP_FIELD_BOOL(f) bool f;
#define TP_FIELD_PATH(f) char f[TP_PATH_MAX]; /* empty: unset */
#define TP_FIELD_FORMAT(f) enum tp_format f;
#define TP_FIELD_SIGNAL(f) int f; /* 0: unset */
#define TP_FIELD_BYTES(f) uint64_t f;
#define TP_FIELD_HARDEN(f) enum tp_harden f;
#define TP_FIELD_FAIL(f) tp_fail_spec_t f;
#define TP_FIELD(kind, field, name, def, lo, hi, doc) TP_FIELD_##kind(field)

typedef struct tp_config_s {
  TP_OPTIONS(TP_FIELD)
} tp_config_t;

/* Read-only after tp_config_load. */
extern tp_config_t tp_config;

/* Loads defaults, then the environment. Idempotent; never allocates. */
void tp_config_load(void);

/* Parses one value of the given variable into *cfg, as tp_config_load
 * would: returns false (and warns) when the value is rejected. Exposed for
 * the tests and the parser fuzzer. */
bool tp_config_set_for_test(tp_config_t *cfg, const char *name, const char *value);

/* Copies at most 64 bytes of an environment value into out (cap >= 260
 * bytes is enough) with control and non-ASCII bytes as \xNN and "..." when
 * cut, so a warning that echoes it stays one honest line. */
void tp_printable(const char *v, char *out, size_t cap);

/* Writes a line to stderr, prefixed "tierpool: ", without allocating. */
void tp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

#pragma GCC visibility pop

#endif
