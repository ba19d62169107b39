/* prof_prog.c - a program whose heap profile is known in advance, for
 * tests/profile (run with `tierpool profile --all`, every get recorded):
 *
 *   make_peak     64 blocks of 100000 bytes, held ~60 ms, then freed:
 *                 the peak, live at the peak, not at exit, not short-lived
 *   make_garbage  10000 blocks of 200 bytes, each freed at once: short-lived
 *   make_leak     10 blocks of 3000 bytes never freed: live at exit
 *
 * Built -O0 -g with no builtins, so each malloc is a call from the named
 * function and the symbolizer finds this file's lines.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void pause_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static void *held[64];
static void *leaked[10];

__attribute__((noinline)) void make_peak(void) {
  for (int i = 0; i < 64; i++) {
    held[i] = malloc(100000);
    memset(held[i], 1, 100000);
  }
}

__attribute__((noinline)) void drop_peak(void) {
  for (int i = 0; i < 64; i++) free(held[i]);
}

__attribute__((noinline)) void make_garbage(void) {
  for (int i = 0; i < 10000; i++) {
    char *p = malloc(200);
    p[0] = (char)i;
    free(p);
  }
}

__attribute__((noinline)) void make_leak(void) {
  for (int i = 0; i < 10; i++) leaked[i] = malloc(3000);
}

int main(void) {
  make_garbage();
  pause_ms(30);
  make_peak();
  pause_ms(60);
  /* A few gets while the peak is held: the timeline records points on
   * recorded gets. */
  for (int i = 0; i < 5; i++) {
    free(malloc(24));
    pause_ms(12);
  }
  drop_peak();
  pause_ms(30);
  make_leak();
  free(malloc(24));
  return leaked[0] ? 0 : 1;
}
