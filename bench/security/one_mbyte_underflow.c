/* A write 1 MiB before a block, then its free. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  flip(p - MiB);
  heap_put(p);
  uncaught("a write 1 MiB before the start, then free");
  return 0;
}
