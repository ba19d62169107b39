/* memcpy of 1 byte more than the block holds, starting at the block: does
 * memcpy (or the allocator behind it) check the destination's bounds? The
 * block is never freed, so only a checked copy or a guard can tell. */
#include "probe.h"

static const char zeros[PROBE_SIZE + 1];

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  copy_bytes(p, zeros, sizeof zeros);
  uncaught("memcpy of 1 byte too many into a block");
  return 0;
}
