/* free of a block's address plus one: misaligned for any allocator. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  heap_put(p + 1);
  uncaught("free of a block's address + 1");
  return 0;
}
