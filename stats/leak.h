/* leak.h - leak attribution: which call stacks hold the blocks that were
 * taken and not given back (TIERPOOL_LEAKS=all|sample).
 *
 * With leak tracking on, stats/ installs the engine's hooks (core/guard.h):
 * every get, pooled or forwarded to mimalloc, captures its call stack
 * (all of them, or a sample by bytes), interns it in a stack table
 * and charges the block to it; every put takes the charge back. A block's
 * stack id lives in a per-tier side array indexed by block number (pooled
 * blocks carry no header) or, for forwarded blocks, in a table keyed by
 * pointer. A dump then lists the stacks that still hold blocks.
 *
 *   leak_life.c     start (options, tables, hooks), fork,
 *                   tierpool_mark/_leaks_since: the top, calls the others
 *   leak.c          the get and put hooks, charges, settling (the
 *                   sampler that picks the gets is core/sampler.h)
 *   leak_tables.c   the mode, side arrays, forwarded-block table, weights:
 *                   the bottom, which the others read
 *   leak_stack.c    capture, the stack table, the module table
 *   leak_unwind.c   the capture's unwinder (a table of frame shapes, the
 *                   walk and its memo; libunwind for any frame it does
 *                   not follow)
 *   leak_cfi.c      a frame's shape from .eh_frame (DWARF CFI)
 *   leak_scan.c     the reachability scan at exit (leak_world.c: the
 *                   other threads' registers and stacks)
 *   leak_report.c   the report: collect, merge, sort, render (text, JSON);
 *                   the allocating stack of a bad free
 *   leak_elf.c      function names from the modules' ELF symbol tables
 *
 * Everything lives in mmap'd memory: leak tracking never calls malloc, so
 * it cannot recurse into itself, and a dump can read it from a signal
 * handler.
 */
#ifndef TP_STATS_LEAK_H
#define TP_STATS_LEAK_H

#include <stdbool.h>
#include <stdint.h>

#include "emit.h"

#pragma GCC visibility push(hidden)

enum tp_leak_mode { TP_LEAKS_OFF = 0, TP_LEAKS_ALL = 1, TP_LEAKS_SAMPLE = 2 };

/* The mode in effect (leak_tables.c); read-only after tp_leak_start. */
extern enum tp_leak_mode tp_leak_mode;

/* From tp_stats_start (the preload constructor, single-threaded): parses
 * TIERPOOL_LEAKS, maps the tables, loads libunwind and installs the
 * hooks. Does nothing when TIERPOOL_LEAKS is unset. */
void tp_leak_start(void);

/* In the child after fork: resets what a lock guards and starts the
 * child's own period, so the child reports the blocks it allocated (its
 * parent reports its own). */
void tp_leak_fork_child(void);

/* The leak section of a dump (tp_render_ex's callback): the stacks of the
 * current period still holding blocks, most bytes first. ctx points to the
 * dump's enum tp_dump_reason: exit and API dumps first settle the puts the
 * hooks missed (a scan of the side arrays); signal and interval dumps, which
 * may come often, do not. Safe in a signal handler: it skips itself (emits
 * nothing) when another report of this thread is in progress. */
void tp_leak_render(tp_emitter_t *e, const void *ctx);

/* At exit when leak tracking is on but TIERPOOL_STATS is unset: writes the
 * text leak report to stderr if anything is left. */
void tp_leak_report_exit(void);

/* The exit report's entry frame (the library destructor's
 * __builtin_frame_address(0)): the scan reads that thread's stack from
 * there up, not from its own frame. Below it are only tierpool's frames,
 * whose slots the report never writes may still hold what the allocator
 * left there earlier (a fresh block's address, say): read as the
 * program's, such a stale copy made a leaked block "still reachable". */
void tp_leak_scan_from(const void *frame);

#pragma GCC visibility pop

#endif
