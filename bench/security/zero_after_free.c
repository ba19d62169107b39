/* Property: free wipes a block's contents (a dangling pointer then reads
 * zeros, not secrets). The probe fills a block, frees it and reads it
 * back through the dangling pointer. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  fill_bytes(p, 0x41, PROBE_SIZE);
  heap_put(p);
  const volatile char *dangling = p;
  for (size_t i = 0; i < PROBE_SIZE; i++)
    if (dangling[i] != 0) {
      uncaught("a freed block still holds data");
      return 0;
    }
  return 0;
}
