/* A write to the byte just before a block (where many allocators keep a
 * header), then its free. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  flip(p - 1);
  heap_put(p);
  uncaught("a write 1 byte before the start, then free");
  return 0;
}
