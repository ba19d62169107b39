/* A read of one byte from a malloc(0) block, which has no bytes. (NULL from
 * malloc(0): see zero_size_block.) */
#include "probe.h"

int main(void) {
  const volatile char *p = zero_size_block();
  char c = *p;
  (void)c;
  uncaught("a read from a malloc(0) block");
  return 0;
}
