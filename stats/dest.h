/* dest.h - where a dump goes (TIERPOOL_STATS) and who wrote it.
 *
 * A file path is made absolute at start (a program that changes directory
 * still dumps where it was asked to) and checked: a destination that
 * cannot be written is reported then, once, with the reason. "%p" becomes
 * the pid; such a file is created exclusively, never overwritten: if it
 * exists (a pid reused since an earlier run), the dump goes to a new name,
 * "<pid>-1", "<pid>-2", ... in place of the pid. Later dumps of the same
 * process go to the name it got. Everything here is async-signal-safe
 * except tp_dest_start.
 */
#ifndef TP_STATS_DEST_H
#define TP_STATS_DEST_H

#include <stdbool.h>

#include "render.h"

#pragma GCC visibility push(hidden)

/* True when dumps go to a file rather than stderr. */
bool tp_dest_is_file(void);

/* At start (after the options are loaded): resolves and checks the path. */
void tp_dest_start(void);

/* In the fork child: its dumps get its own name (%p). */
void tp_dest_fork_child(void);

/* Opens the destination for one dump. stderr: STDERR_FILENO. A file:
 * appended to (append) or truncated; with replace (Prometheus), a
 * temporary beside it, to be renamed over *final once written. Sets *final
 * to the file's path. -1 (with one warning) when it cannot be opened. */
int tp_dest_open(bool append, bool replace, const char **final, const char **tmp);

/* The process behind a dump: exe, command line (cut at TP_CMDLINE_MAX
 * bytes), working directory, read now into static storage. */
#define TP_CMDLINE_MAX 1024
void tp_dest_identity(tp_dump_meta_t *meta);

/* The command line, arguments joined by spaces and control bytes shown as
 * spaces (one line in any report), at most TP_CMDLINE_MAX bytes; *cut says
 * whether more was left. out holds TP_CMDLINE_MAX + 1 bytes. Reads
 * /proc/self/cmdline; never allocates. */
void tp_read_cmdline(char *out, bool *cut);
/* The working directory ("" if unknown) in out (cap bytes), by the system
 * call: glibc's getcwd may allocate. */
void tp_read_cwd(char *out, size_t cap);

#pragma GCC visibility pop

#endif
