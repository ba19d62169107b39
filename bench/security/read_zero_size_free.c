/* A read of one byte from a malloc(0) block, then its free (where an
 * allocator could check a canary). */
#include "probe.h"

int main(void) {
  const volatile char *p = zero_size_block();
  char c = *p;
  (void)c;
  heap_put((void *)p);
  uncaught("a read from a malloc(0) block, then free");
  return 0;
}
