/* A write of one byte into a malloc(0) block. */
#include "probe.h"

int main(void) {
  volatile char *p = zero_size_block();
  *p = 0x41;
  uncaught("a write into a malloc(0) block");
  return 0;
}
