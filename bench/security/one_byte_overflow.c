/* A write to the byte just past the end of a block, then its free: does
 * the allocator notice the damage (a canary, a guard page, a check of the
 * neighbour's header)? */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  flip(p + PROBE_SIZE);
  heap_put(p);
  uncaught("a write 1 byte past the end, then free");
  return 0;
}
