/* A write to the 32nd byte past the end of a block (past any small
 * rounding-up slack), then its free. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  flip(p + PROBE_SIZE + 31);
  heap_put(p);
  uncaught("a write 32 bytes past the end, then free");
  return 0;
}
