/* memcpy of a block's worth of bytes to 1 MiB before the block: the
 * copy starts outside it. */
#include "probe.h"

static const char zeros[PROBE_SIZE];

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  copy_bytes(p - MiB, zeros, sizeof zeros);
  uncaught("memcpy starting 1 MiB before a block");
  return 0;
}
