/* unwind_load.c - which unwinding libraries a preloaded program maps, and
 * the stacks of its leaks (unwind_load_tests.py).
 *
 * Leaks (function: blocks x bytes):
 *   plain_leak     2 x 100   main -> plain_leak: frames tierpool's own
 *                            unwinder follows
 *   handler_leak   3 x 200   main -> raise -> (signal frame) -> on_signal ->
 *                            handler_leak: a signal frame, which only
 *                            libunwind crosses (stats/leak_unwind.c)
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

int main(void) {
  plain_leak();
  CHECK(signal(SIGUSR2, on_signal) != SIG_ERR);
  CHECK(raise(SIGUSR2) == 0);
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
