/* capture.h - what a piece of code writes on stderr, for exact-output
 * tests of the warning writer and of the option parser's warnings. */
#ifndef TP_TEST_CAPTURE_H
#define TP_TEST_CAPTURE_H

#include <criterion/criterion.h>
#include <unistd.h>

/* Runs fn(arg) with stderr on a pipe; returns what it wrote (up to 8 KiB,
 * in a static buffer overwritten by the next call). */
static inline const char *capture_stderr(void (*fn)(const void *), const void *arg) {
  static char buf[8192];
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  close(fds[1]);
  fn(arg);
  dup2(saved, STDERR_FILENO);
  close(saved);
  size_t n = 0;
  ssize_t k;
  while (n < sizeof buf - 1 && (k = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
  close(fds[0]);
  buf[n] = '\0';
  return buf;
}

#endif
