/* A write of one byte into a malloc(0) block. */
#include "probe.h"

int main(void) {
  volatile char *p = heap_get(0);
  if (!p) {
    puts("malloc(0) returned NULL");
    return 1;
  }
  *p = 0x41;
  uncaught("a write into a malloc(0) block");
  return 0;
}
