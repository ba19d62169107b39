/* test_log.c - the one warning writer (core/log.c): exact lines on stderr
 * for each conversion it promises, the errno text, the cut of a long line,
 * errno kept, and tp_die's message and abort. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "log.h"

static void (*capture_fn)(void);
static void trampoline(const void *arg) { (void)arg; capture_fn(); }
static const char *capture(void (*fn)(void)) {
  capture_fn = fn;
  return capture_stderr(trampoline, NULL);
}

static void conversions(void) {
  tp_warn("s=%s c=%c d=%d i=%i u=%u x=%x ld=%ld lu=%lu lld=%lld llu=%llu zu=%zu p=%p %% %.*s|",
          "str", 'C', -42, 7, 4000000000u, 0xbeefu, -1L, 18446744073709551615UL,
          (long long)-9223372036854775807LL - 1, 1ULL << 40, (size_t)123, (void *)0x1000, 3,
          "abcdef");
}
static void with_errno(void) { tp_warn_errno(ENOENT, "cannot open %s", "/x"); }
static void zero_errno(void) { tp_warn_errno(0, "plain"); }
static void long_line(void) {
  char big[3000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  tp_warn("%s", big);
}
static void once_twice(void) {
  for (int i = 0; i < 3; i++) TP_WARN_ONCE("only once (%d)", i);
}

Test(log, conversions_exact) {
  cr_assert_str_eq(capture(conversions),
                   "tierpool: s=str c=C d=-42 i=7 u=4000000000 x=beef ld=-1 "
                   "lu=18446744073709551615 lld=-9223372036854775808 llu=1099511627776 zu=123 "
                   "p=0x1000 % abc|\n");
}

Test(log, errno_text) {
  cr_assert_str_eq(capture(with_errno),
                   "tierpool: cannot open /x: No such file or directory (ENOENT)\n");
  cr_assert_str_eq(capture(zero_errno), "tierpool: plain\n");
  char b[64];
  cr_assert_str_eq(tp_errno_text(EACCES, b, sizeof b), "Permission denied (EACCES)");
  cr_assert_str_eq(tp_errno_text(4095, b, sizeof b), "error 4095");
  cr_assert_str_eq(tp_errno_text(EACCES, b, 10), "Permissio");
}

Test(log, long_line_is_cut_to_one_line) {
  const char *s = capture(long_line);
  cr_assert_eq(strlen(s), TP_LOG_LINE);
  cr_assert_eq(strncmp(s + TP_LOG_LINE - 4, "...\n", 4), 0);
  cr_assert_eq(strchr(s, '\n'), s + TP_LOG_LINE - 1, "one line only");
}

Test(log, once_per_site) { cr_assert_str_eq(capture(once_twice), "tierpool: only once (0)\n"); }

Test(log, keeps_errno) {
  errno = EBUSY;
  capture(with_errno);
  cr_assert_eq(errno, EBUSY);
}

Test(log, die_writes_and_aborts) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    tp_die("broken %s at %d", "invariant", 3);
  }
  close(fds[1]);
  char buf[256];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  cr_assert_str_eq(buf, "tierpool: fatal: broken invariant at 3\n");
}

Test(log, printable_escapes) {
  char out[TP_PRINTABLE_CAP];
  tp_printable("a\nb\x1b[", out, sizeof out);
  cr_assert_str_eq(out, "a\\x0ab\\x1b[");
}
