/* render.h - what a dump says, described once for every format.
 *
 * tp_render takes a snapshot (tierpool_stats_t), the recent lengths and the
 * facts about the dump, and makes one sequence of emitter calls; the emitter
 * decides whether that becomes text, JSON or Prometheus. It needs nothing
 * from the engine, so the tests render fixed snapshots.
 */
#ifndef TP_STATS_RENDER_H
#define TP_STATS_RENDER_H

#include "config.h" /* tp_option_table_t */
#include "emit.h"
#include "tierpool.h"

/* The JSON schema version ("version"): bumped on every incompatible change
 * of the dump (a key renamed, removed or given another meaning). Adding a
 * key is compatible. docs/schema/tierpool-stats.schema.json describes it. */
#define TP_STATS_SCHEMA_VERSION 1

/* The most recent lengths a dump carries. */
#define TP_DUMP_LENGTHS_MAX 4096
/* The most recent lengths the text table shows. */
#define TP_TEXT_LENGTHS 64

/* Why a dump was written. */
enum tp_dump_reason {
  TP_DUMP_EXIT = 0,
  TP_DUMP_SIGNAL = 1,
  TP_DUMP_INTERVAL = 2,
  TP_DUMP_API = 3
};

const char *tp_dump_reason_name(enum tp_dump_reason r);
const char *tp_discard_reason_name(unsigned reason); /* "too_large", ... */

typedef struct tp_dump_meta_s {
  enum tp_dump_reason reason;
  int64_t pid;
  const char *exe;          /* the program, "" if unknown */
  const char *cmdline;      /* its arguments, space-separated and cut short; "" if unknown */
  const char *cwd;          /* its working directory; "" if unknown */
  uint64_t time_ns;         /* CLOCK_REALTIME, ns since the epoch */
  tp_option_table_t *const *options; /* the options in effect, per layer */
  size_t noptions;
} tp_dump_meta_t;

void tp_render(tp_emitter_t *e, const tierpool_stats_t *st, const uint64_t *lengths,
               size_t nlengths, const tp_dump_meta_t *meta);

/* A section a layer adds to the dump (the leak report): called once, after
 * the recent lengths and before the balance verdict, at the top level of
 * the dump (JSON: it may add keys; text: lines). */
typedef void (*tp_render_section_fn)(tp_emitter_t *e, const void *ctx);

/* tp_render with an extra section (NULL: none). */
void tp_render_ex(tp_emitter_t *e, const tierpool_stats_t *st, const uint64_t *lengths,
                  size_t nlengths, const tp_dump_meta_t *meta, tp_render_section_fn section,
                  const void *section_ctx);

#endif
