/* A write 32 bytes before a block, then its free. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  flip(p - 32);
  heap_put(p);
  uncaught("a write 32 bytes before the start, then free");
  return 0;
}
