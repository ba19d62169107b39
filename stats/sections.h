/* sections.h - extra dump sections that a layer above stats/ registers.
 *
 * stats/ must not call into the layers above it (pools/ -> stats -> core),
 * so a layer that wants its own part of every dump registers a callback
 * here, once; the renderer calls every registered callback after the
 * built-in parts. A callback describes its part with the emitter (emit.h),
 * so it comes out in text, JSON and Prometheus alike. Like the rest of a
 * dump it must not allocate or take a lock that malloc may hold.
 *
 * A section that is a table also gives its columns: the JSON's "fields"
 * then describes them under the section's name, as it describes the
 * tiers' columns, so tools render the table from the dump alone.
 */
#ifndef TP_STATS_SECTIONS_H
#define TP_STATS_SECTIONS_H

#include "emit.h"

#pragma GCC visibility push(hidden)

typedef void (*tp_stats_section_fn)(tp_emitter_t *e);

typedef struct tp_stats_section_s {
  const char *name;        /* its key in the JSON's "fields" */
  tp_stats_section_fn fn;  /* renders the section */
  const tp_field_t *cols;  /* its table's columns; NULL: nothing to describe */
  size_t ncols;
} tp_stats_section_t;

/* Adds s (static storage, never changed after) to every dump from now on.
 * Registering the same s again does nothing. Returns 0, or -1 when the
 * table is full. Any thread. */
int tp_stats_add_section(const tp_stats_section_t *s);

/* The i-th registered section, in registration order; NULL past the last. */
const tp_stats_section_t *tp_stats_section_at(size_t i);

/* Emits every registered section, in registration order (render.c). */
void tp_stats_render_sections(tp_emitter_t *e);

#pragma GCC visibility pop

#endif
