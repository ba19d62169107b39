/* A write 1 MiB past the last byte of a block, then its free: lands in
 * another block, another region, or nothing mapped. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  flip(p + PROBE_SIZE - 1 + MiB);
  heap_put(p);
  uncaught("a write 1 MiB past the end, then free");
  return 0;
}
