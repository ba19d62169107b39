/* A read of one byte from a malloc(0) block, then its free (where an
 * allocator could check a canary). */
#include "probe.h"

int main(void) {
  const volatile char *p = heap_get(0);
  if (!p) {
    puts("malloc(0) returned NULL");
    return 1;
  }
  char c = *p;
  (void)c;
  heap_put((void *)p);
  uncaught("a read from a malloc(0) block, then free");
  return 0;
}
