/* A write of one byte into a malloc(0) block, then its free. */
#include "probe.h"

int main(void) {
  volatile char *p = zero_size_block();
  *p = 0x41;
  heap_put((void *)p);
  uncaught("a write into a malloc(0) block, then free");
  return 0;
}
