/* common.h - helpers shared by the hardening test programs.
 *
 * The programs run preloaded (LD_PRELOAD=libtierpool.so) and are built
 * with -fno-builtin, so every malloc/free pair reaches the allocator.
 * CHECK, KiB/MiB, opaque, launder and rnd come from tests/lib/tp_test.h.
 */
#ifndef TP_HARDENING_COMMON_H
#define TP_HARDENING_COMMON_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tierpool.h"
#include "tp_test.h"

/* Fills n bytes of p with a pattern derived from tag; check_fill tests it. */
static inline void fill(void *p, size_t n, uint64_t tag) {
  unsigned char *b = p;
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(tag + i * 131);
}
static inline int check_fill(const void *p, size_t n, uint64_t tag) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != (unsigned char)(tag + i * 131)) return 0;
  return 1;
}

/* tierpool_stats of the preloaded library; exits if it is not there. */
static inline int (*tp_stats_fn(void))(tierpool_stats_t *) {
  int (*f)(tierpool_stats_t *) = (int (*)(tierpool_stats_t *))dlsym(RTLD_DEFAULT, "tierpool_stats");
  if (!f) {
    fprintf(stderr, "tierpool is not in the process (run with LD_PRELOAD)\n");
    exit(2);
  }
  return f;
}

static inline long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Writes a line with write(2): visible even if the next call aborts. */
static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static inline void say(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0 && write(1, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1) < 0) exit(3);
}

#endif
