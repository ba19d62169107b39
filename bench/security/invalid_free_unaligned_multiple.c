/* free of a block's address plus eight: word-aligned, so an alignment
 * test alone does not reject it. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  heap_put(p + 8);
  uncaught("free of a block's address + 8");
  return 0;
}
