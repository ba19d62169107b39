/* Property: realloc of an 8-byte block to 1 KiB gives a new address
 * rather than growing the block where it lies (the size of the build does
 * not enter: this probe is the same at every size). */
#include "probe.h"

int main(void) {
  char *small = heap_get(8);
  char *grown = heap_resize(small, 1024);
  if (grown == small) uncaught("realloc from 8 B to 1 KiB kept the address");
  return 0;
}
