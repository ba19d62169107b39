/* log.h - the one writer of warnings and fatal errors, for every layer.
 *
 * Every line goes to stderr as "tierpool: ...\n" in a single write(2), built
 * in a buffer on the stack by a small printf of our own: no stdio, no
 * malloc, no locale, no lock. So a warning is safe anywhere: inside malloc,
 * before libc is up, in a signal handler that interrupted malloc.
 *
 * The format understands what tierpool prints: %s %c %d %i %u %x %p %%, the
 * length modifiers l, ll and z, and %.*s. Anything else is written as is.
 * A line longer than TP_LOG_LINE bytes is cut, with "..." at the end.
 */
#ifndef TP_LOG_H
#define TP_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

#define TP_LOG_LINE 1024

/* "tierpool: <message>\n" to stderr. errno is preserved. */
void tp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* The same, with ": <reason>" appended for the error number err (the
 * English text glibc has for it, then its name: "No such file or directory
 * (ENOENT)"); err 0 appends nothing. */
void tp_warn_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3), cold));

/* "tierpool: fatal: <message>\n", then abort(). */
void tp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn, cold));

/* Warns the first time only, per call site (or per `flag`): a warning about
 * the environment or a destination must not repeat on every dump. */
#define TP_WARN_ONCE(...)                                                      \
  do {                                                                         \
    static _Atomic bool tp_warned_;                                            \
    if (!atomic_exchange_explicit(&tp_warned_, true, memory_order_relaxed))    \
      tp_warn(__VA_ARGS__);                                                    \
  } while (0)
#define TP_WARN_ERRNO_ONCE(err, ...)                                           \
  do {                                                                         \
    static _Atomic bool tp_warned_;                                            \
    if (!atomic_exchange_explicit(&tp_warned_, true, memory_order_relaxed))    \
      tp_warn_errno(err, __VA_ARGS__);                                         \
  } while (0)

/* The text for an error number, without allocating or reading the locale:
 * "No such file or directory (ENOENT)" into buf[cap]; returns buf. */
const char *tp_errno_text(int err, char *buf, size_t cap);

/* Copies at most 64 bytes of an untrusted value (the environment) into
 * out[cap] (cap >= TP_PRINTABLE_CAP is enough), with control and non-ASCII
 * bytes as \xNN and "..." when cut, so a warning that echoes it stays one
 * honest line. */
#define TP_PRINTABLE_CAP (64 * 4 + 4)
void tp_printable(const char *v, char *out, size_t cap);

/* Decimal digits of v into buf (at least 21 bytes, NUL-terminated);
 * returns the length. Shared with the dump writer (stats/out.h). */
size_t tp_fmt_u64(char *buf, uint64_t v);
/* A size as exactly as it can be short: "64", "4K", "1M", "3G" (a suffix
 * only when it divides v), into buf (at least 24 bytes). */
size_t tp_fmt_size(char *buf, uint64_t v);

#pragma GCC visibility pop

#endif
