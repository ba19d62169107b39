/* options.h - the stats layer's TIERPOOL_ options: where, when and how
 * dumps are written, the live view, and leak attribution.
 *
 * Declared once here (kinds and machinery in core/config.h): the table
 * generates tp_stats_config, the parser's entries, the listing
 * (TIERPOOL_VERBOSE=1), a dump's "config" object and the README's options
 * table (tests/check_options_doc.sh).
 */
#ifndef TP_STATS_OPTIONS_H
#define TP_STATS_OPTIONS_H

#include "config.h"
#include "emit.h" /* enum tp_format */

#define TP_STATS_OPTIONS(X)                                                      \
  X(DEST, stats, "TIERPOOL_STATS", 0, 0, 0, NULL,                                \
    "Where dumps go: `stderr`, or a file path where `%p` becomes the pid (a file with `%p` " \
    "is never overwritten: an existing one gets a new name). Unset: no exit dump.") \
  X(CHOICE, format, "TIERPOOL_FORMAT", TP_FORMAT_TEXT, 0, 0, "text,json,prometheus/prom", \
    "`text`, `json` (one object per line) or `prometheus`.")                    \
  X(BOOL, at_exit, "TIERPOOL_AT_EXIT", 1, 0, 1, NULL,                            \
    "Dump at exit when `TIERPOOL_STATS` is set (`1/0`, `yes/no`, `on/off`, `true/false`).") \
  X(SIGNAL, signal, "TIERPOOL_SIGNAL", 0, 1, 64, NULL,                           \
    "Dump when this signal arrives: a name (`USR2`, `SIGUSR2`, `RTMIN+3`) or a number. Unset: " \
    "no handler.")                                                               \
  X(UINT, interval, "TIERPOOL_INTERVAL", 0, 0, 86400, NULL,                      \
    "Dump every N seconds (0 to 86400), appending. `0`: off.")                   \
  X(BOOL, live, "TIERPOOL_LIVE", 0, 0, 1, NULL,                                  \
    "Publish the counters in `/dev/shm/tierpool.<pid>` for `tierpool top PID`.") \
  X(CHOICE, leaks, "TIERPOOL_LEAKS", 0, 0, 0, "off/0/none,all,sample",           \
    "Leak attribution: `all` captures the call stack of every get, `sample` of a sample by " \
    "bytes; dumps then list the stacks still holding blocks ([docs/leaks.md](docs/leaks.md)). " \
    "`all` runs in slow mode; `sample` keeps the fast path (a sampled get is served " \
    "outside the pools and still counted in its tier). `off`: none.")             \
  X(UINT, leaks_depth, "TIERPOOL_LEAKS_DEPTH", 32, 1, 64, NULL,                  \
    "Frames kept per captured stack (1 to 64).")                                 \
  X(BYTES, leaks_sample, "TIERPOOL_LEAKS_SAMPLE", 512u << 10, 1, 1ull << 30, NULL, \
    "With `TIERPOOL_LEAKS=sample` and the profile: mean bytes between two captured gets (1 " \
    "to 1G); counts are scaled up and marked as estimates.")                                    \
  X(BOOL, leaks_frees, "TIERPOOL_LEAKS_FREES", 0, 0, 1, NULL,                   \
    "With `TIERPOOL_LEAKS=all`: capture the stack of every free of a pooled block too, so "  \
    "that a double free names the stack that freed the block first beside the one that "   \
    "allocated it. It costs a stack walk per free, as `all` costs one per get.")            \
  X(UINT, leaks_top, "TIERPOOL_LEAKS_TOP", 20, 0, 1000000, NULL,                 \
    "Stacks a leak report shows, most bytes first (`0`: all).")                  \
  X(PATH, profile, "TIERPOOL_PROFILE", 0, 0, 0, NULL,                            \
    "Heap profile: a directory where each process writes `profile.<pid>.json` at exit; turns " \
    "on `TIERPOOL_LEAKS=sample` unless it is `all` ([docs/profile.md](docs/profile.md)).") \
  X(UINT, profile_short, "TIERPOOL_PROFILE_SHORT", 1000, 1, 60000000, NULL,      \
    "Microseconds: a block freed sooner than this after its allocation counts as short-lived " \
    "in the profile (1 to 60000000).")

typedef struct tp_stats_config_s {
  TP_STATS_OPTIONS(TP_OPT_FIELD)
} tp_stats_config_t;

#pragma GCC visibility push(hidden)

/* Read-only after tp_stats_options_load. */
extern tp_stats_config_t tp_stats_config;
extern tp_option_table_t tp_stats_options;
/* Every table, the engine's first: for the listing, the unknown-name check
 * and the documentation. */
extern tp_option_table_t *const tp_all_options[2];

/* Loads the stats options from the environment (once, at start), checks
 * the environment for unknown TIERPOOL_ names, and lists every option when
 * TIERPOOL_VERBOSE is on. */
void tp_stats_options_load(void);

#pragma GCC visibility pop

#endif
