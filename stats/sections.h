/* sections.h - extra dump sections that a layer above stats/ registers.
 *
 * stats/ must not call into the layers above it (pools/ -> stats -> core),
 * so a layer that wants its own part of every dump registers a callback
 * here, once; the renderer calls every registered callback after the
 * built-in parts. A callback describes its part with the emitter (emit.h),
 * so it comes out in text, JSON and Prometheus alike. Like the rest of a
 * dump it must not allocate or take a lock that malloc may hold.
 */
#ifndef TP_STATS_SECTIONS_H
#define TP_STATS_SECTIONS_H

#include "emit.h"

#pragma GCC visibility push(hidden)

typedef void (*tp_stats_section_fn)(tp_emitter_t *e);

/* Adds fn to every dump from now on, under name (for the record; the
 * callback chooses its own keys). Registering the same fn again does
 * nothing. Returns 0, or -1 when the table is full. Any thread. */
int tp_stats_add_section(const char *name, tp_stats_section_fn fn);

/* Emits every registered section, in registration order (render.c). */
void tp_stats_render_sections(tp_emitter_t *e);

#pragma GCC visibility pop

#endif
