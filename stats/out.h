/* out.h - the writer under every dump: a fixed buffer flushed with
 * write(2), and number formatting done by hand (snprintf is not
 * async-signal-safe, and may allocate for some conversions).
 *
 * Nothing here allocates, takes a lock, or reads the locale.
 */
#ifndef TP_STATS_OUT_H
#define TP_STATS_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h" /* tp_fmt_u64, tp_fmt_size */

/* 128-bit intermediates of ratios (a GNU extension: __extension__ keeps
 * -Wpedantic quiet). */
__extension__ typedef unsigned __int128 tp_u128;

typedef struct tp_out_s tp_out_t;
/* Receives a full buffer (or the rest at the end); returns false on error. */
typedef bool (*tp_sink_fn)(tp_out_t *out, const char *data, size_t len);

struct tp_out_s {
  char *buf;       /* caller's storage (static or stack), never malloc'd */
  size_t cap;      /* its size in bytes */
  size_t len;      /* bytes pending in buf */
  int fd;          /* where tp_out_fd_sink writes */
  bool failed;     /* a flush failed: later output is dropped */
  tp_sink_fn sink; /* tp_out_fd_sink unless a test sets its own */
  void *ctx;       /* for custom sinks */
};

void tp_out_init(tp_out_t *out, char *buf, size_t cap, int fd);
/* write(2) until done; retries EINTR and partial writes. */
bool tp_out_fd_sink(tp_out_t *out, const char *data, size_t len);
bool tp_out_flush(tp_out_t *out);
void tp_out_mem(tp_out_t *out, const char *s, size_t n);
void tp_out_str(tp_out_t *out, const char *s);
void tp_out_char(tp_out_t *out, char c);
void tp_out_pad(tp_out_t *out, char c, size_t n);
void tp_out_u64(tp_out_t *out, uint64_t v);
void tp_out_i64(tp_out_t *out, int64_t v);

/* Bytes for people: "512", "97.7K", "1.5M", "3.0G" (binary units). */
size_t tp_fmt_bytes(char *buf, uint64_t v);
/* num/den with `digits` decimals, rounded; "0" when den is 0. */
size_t tp_fmt_ratio(char *buf, uint64_t num, uint64_t den, unsigned digits);
/* Nanoseconds since the epoch as RFC 3339 UTC: 2025-01-31T12:00:00.123Z. */
size_t tp_fmt_time(char *buf, uint64_t unix_ns);

#endif
