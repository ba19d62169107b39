/* leakdl.c - libleakdl.so: a library the leaky fixture loads with dlopen,
 * leaks from, and closes before it exits. The report must still name it. */
#include <stdlib.h>

static void *volatile sink;

__attribute__((visibility("default"), noinline)) void dl_leak(int n, int clean) {
  for (int i = 0; i < n; i++) {
    void *p = malloc(72);
    sink = p;
    if (clean) free(p);
  }
}
