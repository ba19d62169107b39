/* A read of one byte from a malloc(0) block, which has no bytes. NULL from
 * malloc(0) leaves nothing to read: the probe then says so and stops. */
#include "probe.h"

int main(void) {
  const volatile char *p = heap_get(0);
  if (!p) {
    puts("malloc(0) returned NULL");
    return 1;
  }
  char c = *p;
  (void)c;
  uncaught("a read from a malloc(0) block");
  return 0;
}
