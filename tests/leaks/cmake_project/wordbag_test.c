/* wordbag_test.c - the project's tests, one per argument:
 *   count   split and count        sort   split, sort, check the order
 *   stdin   count words of stdin   fail   a failing test (no leak)
 *   leak    like count, then splits a bag it never frees (the leaking test):
 *           1 direct block (the array) and 3 indirect ones (the words) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wordbag.h"

/* The leaking test's bag: split, counted, never freed; its frame is then
 * overwritten so that no stale pointer keeps the words reachable. */
__attribute__((noinline)) static size_t forget_a_bag(void) {
  wordbag b = {0};
  if (wordbag_split(&b, "words nobody frees")) return 0;
  return b.n;
}

__attribute__((noinline)) static void scrub_stack(void) {
  volatile char junk[8192];
  memset((char *)junk, 0, sizeof junk);
}

static int expect(int ok, const char *what) {
  if (!ok) fprintf(stderr, "FAILED: %s\n", what);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *t = argc > 1 ? argv[1] : "count";
  wordbag b = {0};
  int bad = 0;
  if (!strcmp(t, "stdin")) {
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    buf[n] = 0;
    bad |= wordbag_split(&b, buf);
    wordbag_sort(&b);
    printf("%zu words, %zu distinct\n", b.n, wordbag_distinct(&b));
  } else {
    bad |= wordbag_split(&b, "the cat saw the other cat and a dog");
    bad |= expect(b.n == 9, "nine words");
    wordbag_sort(&b);
    bad |= expect(wordbag_distinct(&b) == 7, "seven distinct words");
    if (!strcmp(t, "sort")) bad |= expect(!strcmp(b.words[0], "a"), "'a' first");
    if (!strcmp(t, "fail")) bad |= expect(b.n == 0, "an empty bag (fails on purpose)");
  }
  wordbag_free(&b);
  if (!strcmp(t, "leak")) {
    bad |= expect(forget_a_bag() == 3, "three words");
    scrub_stack();
  }
  return bad;
}
