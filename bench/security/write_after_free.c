/* A write over a whole block after its free, and nothing else: caught only
 * if the memory is gone (unmapped, protected) or the allocator checks its
 * free blocks when it next touches them (the probe's own output allocates). */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  heap_put(p);
  fill_bytes(p, 0x41, PROBE_SIZE);
  uncaught("a write over a freed block");
  return 0;
}
