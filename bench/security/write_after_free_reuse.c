/* A write over a freed block, then a long run of allocations and frees of
 * the same size, which hand the damaged block (and whatever its overwritten
 * links point at) out again. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  heap_put(p);
  fill_bytes(p, 0x41, PROBE_SIZE);
  for (long i = 0; i < 250000; i++) heap_put(heap_get(PROBE_SIZE));
  uncaught("a write over a freed block, then 250000 pairs of the same size");
  return 0;
}
