/* out.c - the writer and the number formatting (see out.h). */
#include "out.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* ================================================================ writer */

void tp_out_init(tp_out_t *out, char *buf, size_t cap, int fd) {
  out->buf = buf;
  out->cap = cap;
  out->len = 0;
  out->fd = fd;
  out->failed = false;
  out->sink = tp_out_fd_sink;
  out->ctx = NULL;
}

bool tp_out_fd_sink(tp_out_t *out, const char *data, size_t len) {
  while (len > 0) {
    ssize_t w = write(out->fd, data, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (w == 0) return false; /* nothing written and no error: give up, do not spin */
    data += w;
    len -= (size_t)w;
  }
  return true;
}

bool tp_out_flush(tp_out_t *out) {
  if (out->len > 0 && !out->failed && !out->sink(out, out->buf, out->len)) out->failed = true;
  out->len = 0;
  return !out->failed;
}

void tp_out_mem(tp_out_t *out, const char *s, size_t n) {
  while (n > 0) {
    if (out->len == out->cap) tp_out_flush(out);
    size_t room = out->cap - out->len;
    size_t k = n < room ? n : room;
    memcpy(out->buf + out->len, s, k);
    out->len += k;
    s += k;
    n -= k;
  }
}

void tp_out_str(tp_out_t *out, const char *s) { tp_out_mem(out, s, strlen(s)); }

void tp_out_char(tp_out_t *out, char c) {
  if (out->len == out->cap) tp_out_flush(out);
  out->buf[out->len++] = c;
}

void tp_out_pad(tp_out_t *out, char c, size_t n) {
  while (n-- > 0) tp_out_char(out, c);
}

void tp_out_u64(tp_out_t *out, uint64_t v) {
  char b[24];
  tp_out_mem(out, b, tp_fmt_u64(b, v));
}

void tp_out_i64(tp_out_t *out, int64_t v) {
  if (v < 0) {
    tp_out_char(out, '-');
    tp_out_u64(out, (uint64_t)0 - (uint64_t)v); /* INT64_MIN too */
  } else {
    tp_out_u64(out, (uint64_t)v);
  }
}

/* ============================================================ formatting */

size_t tp_fmt_ratio(char *buf, uint64_t num, uint64_t den, unsigned digits) {
  if (den == 0) {
    buf[0] = '0';
    buf[1] = '\0';
    return 1;
  }
  tp_u128 scale = 1;
  for (unsigned i = 0; i < digits; i++) scale *= 10;
  tp_u128 q = ((tp_u128)num * scale + den / 2) / den;
  size_t n = tp_fmt_u64(buf, (uint64_t)(q / scale));
  if (digits) {
    buf[n++] = '.';
    uint64_t frac = (uint64_t)(q % scale);
    for (unsigned i = digits; i-- > 0;) {
      buf[n + i] = (char)('0' + frac % 10);
      frac /= 10;
    }
    n += digits;
    buf[n] = '\0';
  }
  return n;
}

size_t tp_fmt_bytes(char *buf, uint64_t v) {
  static const char units[] = "KMGTPE";
  if (v < 1024) return tp_fmt_u64(buf, v);
  /* tenths of the unit, rounded; move up when rounding reaches 1024.0 */
  unsigned u = 0;
  tp_u128 div = 1024;
  for (;;) {
    tp_u128 tenths = ((tp_u128)v * 10 + div / 2) / div;
    if (tenths < 10240 || u == sizeof units - 2) {
      size_t n = tp_fmt_u64(buf, (uint64_t)(tenths / 10));
      buf[n++] = '.';
      buf[n++] = (char)('0' + (unsigned)(tenths % 10));
      buf[n++] = units[u];
      buf[n] = '\0';
      return n;
    }
    u++;
    div *= 1024;
  }
}

static size_t put2(char *b, unsigned v) {
  b[0] = (char)('0' + v / 10 % 10);
  b[1] = (char)('0' + v % 10);
  return 2;
}

size_t tp_fmt_time(char *buf, uint64_t unix_ns) {
  uint64_t secs = unix_ns / 1000000000u;
  unsigned ms = (unsigned)(unix_ns / 1000000u % 1000u);
  int64_t days = (int64_t)(secs / 86400);
  unsigned sod = (unsigned)(secs % 86400);
  /* civil from days (Howard Hinnant's algorithm), proleptic Gregorian */
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  size_t n = tp_fmt_u64(buf, (uint64_t)y);
  buf[n++] = '-';
  n += put2(buf + n, m);
  buf[n++] = '-';
  n += put2(buf + n, d);
  buf[n++] = 'T';
  n += put2(buf + n, sod / 3600);
  buf[n++] = ':';
  n += put2(buf + n, sod / 60 % 60);
  buf[n++] = ':';
  n += put2(buf + n, sod % 60);
  buf[n++] = '.';
  buf[n++] = (char)('0' + ms / 100);
  n += put2(buf + n, ms % 100);
  buf[n++] = 'Z';
  buf[n] = '\0';
  return n;
}

