/* free of a pointer 1 GiB past the start of a live block: most likely
 * nothing the allocator owns. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  heap_put(p + GiB);
  uncaught("free of a block's address + 1 GiB");
  return 0;
}
