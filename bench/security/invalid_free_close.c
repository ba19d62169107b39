/* free of a pointer 4 KiB past the start of a live block: inside the
 * block for the big sizes, in the same heap region for the small one. */
#include "probe.h"

int main(void) {
  char *p = heap_get(PROBE_SIZE);
  heap_put(p + 4 * KiB);
  uncaught("free of a block's address + 4 KiB");
  return 0;
}
