/* stats.h - what preload/ calls in stats/: the dump triggers' life cycle.
 *
 * The counters themselves live in the engine (core/snapshot.h); stats/
 * loads its options (options.c), describes the counters from their one
 * declaration (fields.c), renders them (render.c, emit.c, out.c), writes
 * them when asked (dump.c) where TIERPOOL_STATS says (dest.c), publishes
 * them for `tierpool top` (live.c), answers glibc's introspection calls
 * (introspect.c) and tracks leaks (leak*.c).
 */
#ifndef TP_STATS_H
#define TP_STATS_H

#include <stdbool.h>

#include "render.h"

/* Called once by the preload constructor, after tp_config is loaded, libc
 * is up and outside any malloc call. Installs the at-exit dump, the signal
 * handler (TIERPOOL_SIGNAL), the dump thread "tierpool-dump" (interval
 * dumps, TIERPOOL_INTERVAL, and the live file, TIERPOOL_LIVE). */
void tp_stats_start(void);

/* Called in the child after fork, single-threaded. Forgets the parent's
 * dump state, restarts the dump thread and makes the child's own live file. */
void tp_stats_fork_child(void);

/* Writes one dump now, for the given reason, to the configured destination
 * and format. Never allocates, takes no lock an interrupted malloc could
 * hold: safe in a signal handler. Returns 0, or -1 if nothing was written
 * (no destination for an at-exit dump, unwritable path, or a dump of the
 * same thread already in progress, as when a signal interrupts one). */
int tp_stats_dump(enum tp_dump_reason reason);

#endif
