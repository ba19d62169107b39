/* criterion_example.c - per-test leak checks with Criterion, as in
 * docs/leaks.md. LeakTest() is Test() with the body run between
 * tierpool_mark() and a check that what the body allocated is freed.
 * Run with TIERPOOL_LEAKS=all; the program links -ltierpool. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tierpool.h"

/* Fails the running test if blocks allocated since m are still live. A
 * block handed to another thread to free later (Criterion's own messages
 * to its runner are) is live until that thread frees it: give such frees
 * a moment before concluding. */
static void expect_no_leaks(tierpool_mark_t m) {
  tierpool_leaks_t l;
  if (tierpool_leaks_since(m, &l, -1) != 0) return; /* TIERPOOL_LEAKS is not set */
  for (int i = 0; i < 50 && l.blocks; i++) {
    usleep(2000);
    tierpool_leaks_since(m, &l, -1);
  }
  if (l.blocks) tierpool_leaks_since(m, &l, STDERR_FILENO); /* the stacks, on stderr */
  cr_expect_eq(l.blocks, 0, "%llu blocks (%llu bytes) allocated by the test are not freed",
               (unsigned long long)l.blocks, (unsigned long long)l.bytes);
}

#define LeakTest(suite, name, ...)                                             \
  static void suite##_##name##_body(void);                                     \
  Test(suite, name, ##__VA_ARGS__) {                                           \
    tierpool_mark_t m = tierpool_mark();                                       \
    suite##_##name##_body();                                                   \
    expect_no_leaks(m);                                                        \
  }                                                                            \
  static void suite##_##name##_body(void)

static void *volatile sink;

LeakTest(parser, frees_everything) {
  char *s = strdup("a string to parse");
  cr_expect_str_eq(s, "a string to parse");
  free(s);
}

/* Leaks on purpose: the check must fail this test (the suite reports one
 * failure, and the stack of the 64 bytes). */
LeakTest(parser, forgets_a_buffer) {
  sink = malloc(64);
}
