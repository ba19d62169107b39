/* log.c - warnings and fatal errors without allocating (see log.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrordesc_np, strerrorname_np */
#endif
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t tp_fmt_u64(char *buf, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

size_t tp_fmt_size(char *buf, uint64_t v) {
  static const char units[] = "KMGT";
  unsigned u = 0;
  char suffix = 0;
  while (v >= 1024 && v % 1024 == 0 && u < sizeof units - 1) {
    v /= 1024;
    suffix = units[u++];
  }
  size_t n = tp_fmt_u64(buf, v);
  if (suffix) {
    buf[n++] = suffix;
    buf[n] = '\0';
  }
  return n;
}

/* ------------------------------------------------------- a line buffer */

typedef struct tp_line_s {
  char buf[TP_LOG_LINE];
  size_t len;
  bool cut; /* something did not fit */
} tp_line_t;

/* Leaves room for "...\n" at the end. */
#define TP_LINE_ROOM (TP_LOG_LINE - 4)

static void put_mem(tp_line_t *l, const char *s, size_t n) {
  size_t room = TP_LINE_ROOM - l->len;
  if (n > room) {
    n = room;
    l->cut = true;
  }
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void put_str(tp_line_t *l, const char *s) { put_mem(l, s, strlen(s)); }

static void put_hex(tp_line_t *l, uint64_t v) {
  static const char hex[] = "0123456789abcdef";
  char tmp[16];
  size_t n = 0;
  do {
    tmp[n++] = hex[v & 15];
    v >>= 4;
  } while (v);
  while (n) put_mem(l, &tmp[--n], 1);
}

static void put_i64(tp_line_t *l, int64_t v) {
  char b[24];
  if (v < 0) put_mem(l, "-", 1);
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  put_mem(l, b, tp_fmt_u64(b, u));
}

/* The subset of printf that log.h promises. */
static void put_fmt(tp_line_t *l, const char *fmt, va_list ap) {
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      const char *run = f;
      while (f[1] && f[1] != '%') f++;
      put_mem(l, run, (size_t)(f - run) + 1);
      continue;
    }
    const char *spec = f++;
    int size = 0; /* 0 int, 1 long, 2 long long, 3 size_t */
    int prec = -1;
    if (f[0] == '.' && f[1] == '*') {
      prec = va_arg(ap, int);
      f += 2;
    }
    if (*f == 'z') size = 3, f++;
    else if (f[0] == 'l' && f[1] == 'l') size = 2, f += 2;
    else if (*f == 'l') size = 1, f++;
    char b[24];
    switch (*f) {
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) s = "(null)";
      size_t n = strlen(s);
      if (prec >= 0 && (size_t)prec < n) n = (size_t)prec;
      put_mem(l, s, n);
      break;
    }
    case 'c': b[0] = (char)va_arg(ap, int); put_mem(l, b, 1); break;
    case 'd':
    case 'i':
      put_i64(l, size == 0 ? va_arg(ap, int) : size == 1 ? va_arg(ap, long)
                 : size == 2 ? va_arg(ap, long long) : (int64_t)va_arg(ap, ssize_t));
      break;
    case 'u':
    case 'x': {
      uint64_t u = size == 0 ? va_arg(ap, unsigned) : size == 1 ? va_arg(ap, unsigned long)
                 : size == 2 ? va_arg(ap, unsigned long long) : va_arg(ap, size_t);
      if (*f == 'x') put_hex(l, u);
      else put_mem(l, b, tp_fmt_u64(b, u));
      break;
    }
    case 'p':
      put_mem(l, "0x", 2);
      put_hex(l, (uint64_t)(uintptr_t)va_arg(ap, void *));
      break;
    case '%': put_mem(l, "%", 1); break;
    default: /* not ours: show it as written */
      if (!*f) f--;
      put_mem(l, spec, (size_t)(f - spec) + 1);
      break;
    }
  }
}

static void emit(tp_line_t *l) {
  if (l->cut) {
    memcpy(l->buf + l->len, "...", 3);
    l->len += 3;
  }
  l->buf[l->len++] = '\n';
  const char *p = l->buf;
  size_t n = l->len;
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* stderr closed or full: nothing else to do */
    p += w;
    n -= (size_t)w;
  }
}

/* ------------------------------------------------------------ the API */

const char *tp_errno_text(int err, char *buf, size_t cap) {
  /* strerror may translate (locale) and allocate for unknown numbers;
   * these two return glibc's static English strings. */
  const char *desc = strerrordesc_np(err), *name = strerrorname_np(err);
  tp_line_t l = {.len = 0};
  if (desc) {
    put_str(&l, desc);
    if (name) {
      put_mem(&l, " (", 2);
      put_str(&l, name);
      put_mem(&l, ")", 1);
    }
  } else {
    put_mem(&l, "error ", 6);
    put_i64(&l, err);
  }
  size_t n = l.len < cap - 1 ? l.len : cap - 1;
  memcpy(buf, l.buf, n);
  buf[n] = '\0';
  return buf;
}

static void vwarn(int err, const char *prefix, const char *fmt, va_list ap) {
  int saved = errno;
  tp_line_t l = {.len = 0};
  put_str(&l, "tierpool: ");
  if (prefix) put_str(&l, prefix);
  put_fmt(&l, fmt, ap);
  if (err) {
    char why[128];
    put_mem(&l, ": ", 2);
    put_str(&l, tp_errno_text(err, why, sizeof why));
  }
  emit(&l);
  errno = saved;
}

void tp_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwarn(0, NULL, fmt, ap);
  va_end(ap);
}

void tp_warn_errno(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwarn(err, NULL, fmt, ap);
  va_end(ap);
}

void tp_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwarn(0, "fatal: ", fmt, ap);
  va_end(ap);
  abort();
}

/* The value as a warning may echo it: at most 64 bytes, with control
 * characters and non-ASCII bytes as \xNN, so a newline or a terminal
 * escape in the environment cannot forge or split the line. */
void tp_printable(const char *v, char *out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, i = 0;
  for (; v[i] && i < 64 && o + 5 < cap; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out[o++] = (char)ch;
    } else {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[ch >> 4];
      out[o++] = hex[ch & 15];
    }
  }
  if (v[i] && o + 4 < cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}
