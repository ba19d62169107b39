/* memcpy of a block's worth of bytes to 1 byte before the block: the
 * copy starts outside it. */
#include "probe.h"

static const char zeros[PROBE_SIZE];

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  copy_bytes(p - 1, zeros, sizeof zeros);
  uncaught("memcpy starting 1 byte before a block");
  return 0;
}
