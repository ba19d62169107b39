/* unwind_load.c - which unwinding libraries a preloaded program maps, and
 * the stacks of its leaks (unwind_load_tests.py).
 *
 * Leaks (function: blocks x bytes):
 *   plain_leak     2 x 100   main -> plain_leak: frames tierpool's own
 *                            unwinder follows
 *   handler_leak   3 x 200   main -> raise -> (signal frame) -> on_signal ->
 *                            handler_leak: through a signal frame, which
 *                            tierpool's own unwinder crosses too
 *   nocfi_leak     3 x 300   main -> nocfi_call -> nocfi_leak, where
 *                            nocfi_call is assembly without call frame
 *                            information: only libunwind follows it (by its
 *                            frame pointer). The first call is made, then
 *                            (unless FIXTURE_NO_WAIT is set) the fixture
 *                            waits up to 2 s for libunwind to be mapped,
 *                            then makes the other two.
 * Then prints the lines of /proc/self/maps that name libtierpool,
 * libunwind or liblzma.
 *
 * Built with -O0 -fno-omit-frame-pointer -fno-builtin (TP_LEAK_FLAGS), and
 * every pointer goes through a volatile sink, so each call is made where it
 * is written. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp_test.h"

static void *volatile sink;

__attribute__((noinline)) static void plain_leak(void) {
  for (int i = 0; i < 2; i++) sink = malloc(100);
}

__attribute__((noinline)) static void handler_leak(void) {
  for (int i = 0; i < 3; i++) sink = malloc(200);
}

static void on_signal(int sig) {
  (void)sig;
  handler_leak();
}

__attribute__((noinline, used)) void nocfi_leak(void) { sink = malloc(300); }
void nocfi_call(void);
__asm__(".text\n.p2align 4\n.globl nocfi_call\n.type nocfi_call, @function\n"
        "nocfi_call:\n  push %rbp\n  mov %rsp, %rbp\n  call nocfi_leak\n"
        "  pop %rbp\n  ret\n.size nocfi_call, .-nocfi_call\n");

/* Whether /proc/self/maps has a line naming what. */
static int mapped(const char *what) {
  FILE *f = fopen("/proc/self/maps", "r");
  CHECK(f);
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) found = strstr(line, what) != NULL;
  fclose(f);
  return found;
}

int main(void) {
  plain_leak();
  CHECK(signal(SIGUSR2, on_signal) != SIG_ERR);
  CHECK(raise(SIGUSR2) == 0);
  nocfi_call();
  if (!getenv("FIXTURE_NO_WAIT")) {
    for (int i = 0; i < 200 && !mapped("libunwind"); i++) usleep(10000);
    usleep(100000); /* mapped, then loaded */
  }
  nocfi_call();
  nocfi_call();
  sink = NULL;
  FILE *f = fopen("/proc/self/maps", "r");
  CHECK(f);
  char line[4096];
  while (fgets(line, sizeof line, f))
    if (strstr(line, "libtierpool") || strstr(line, "libunwind") || strstr(line, "liblzma"))
      fputs(line, stdout);
  fclose(f);
  return 0;
}
