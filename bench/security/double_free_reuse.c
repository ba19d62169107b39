/* A double free, then a long run of allocations and frees of the same
 * size: an unnoticed double free puts the block on a free list twice, and
 * the allocator may trip over its own lists later (a late catch counts:
 * the probe reports only if it gets to the end). */
#include "probe.h"

int main(void) {
  void *p = heap_get(PROBE_SIZE);
  heap_put(p);
  heap_put(p);
  for (long i = 0; i < 250000; i++) heap_put(heap_get(PROBE_SIZE));
  uncaught("free twice, then 250000 pairs of the same size");
  return 0;
}
