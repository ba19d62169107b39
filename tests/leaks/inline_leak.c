/* inline_leak.c - a leak made in functions the compiler inlines (built with
 * -O2 -g), for the symbolizer's inline frames: the report must show
 * make_buffer (inlined into fill_table, itself inlined into build_table)
 * as the innermost frames, each at its own file:line, before build_table.
 *
 *   inline_leak      leaks 4 blocks of 96 bytes from make_buffer
 */
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

static inline __attribute__((always_inline)) char *make_buffer(size_t n) {
  char *p = malloc(n); /* the leaking call: TP_INLINE_SITE */
  if (p) memset(p, 'x', n);
  return p;
}

static inline __attribute__((always_inline)) void fill_table(char **t, int n) {
  for (int i = 0; i < n; i++) t[i] = make_buffer(96);
}

__attribute__((noinline)) void build_table(int n) {
  char *t[8];
  fill_table(t, n);
  sink = t[n - 1];
  sink = NULL;
}

int main(void) {
  build_table(4);
  return 0;
}
