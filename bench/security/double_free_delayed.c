/* A double free after a thousand allocations and frees of the same size
 * have gone by: the block's first free is no longer recent. */
#include "probe.h"

int main(void) {
  void *p = heap_get(PROBE_SIZE);
  heap_put(p);
  for (int i = 0; i < 1000; i++) heap_put(heap_get(PROBE_SIZE));
  heap_put(p);
  uncaught("a second free after 1000 other pairs of the same size");
  return 0;
}
