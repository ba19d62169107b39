/* Property: malloc hands out zeroed memory even where freed blocks held
 * data: 4096 blocks are filled with a pattern and freed (many, in case the
 * allocator picks blocks at random), then one more is taken and read. */
#include "probe.h"

enum { BLOCKS = 4096 };

int main(void) {
  static char *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = heap_get(PROBE_SIZE);
    fill_bytes(blocks[i], 0x41, PROBE_SIZE);
  }
  for (int i = 0; i < BLOCKS; i++) heap_put(blocks[i]);
  const volatile char *p = heap_get(PROBE_SIZE);
  for (size_t i = 0; i < PROBE_SIZE; i++)
    if (p[i] != 0) {
      uncaught("malloc returned a block holding old data");
      return 0;
    }
  return 0;
}
