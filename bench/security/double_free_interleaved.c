/* A double free with another free of the same size in between, so the
 * block is no longer at the head of its free list (glibc's fastbin check
 * looks at the head only). */
#include "probe.h"

int main(void) {
  void *a = heap_get(PROBE_SIZE);
  void *b = heap_get(PROBE_SIZE);
  heap_put(a);
  heap_put(b);
  heap_put(a);
  uncaught("free a, free b, free a");
  return 0;
}
