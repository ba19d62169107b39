/* free of a small integer cast to a pointer: nothing any allocator could
 * have handed out. */
#include "probe.h"

int main(void) {
  heap_put((void *)(uintptr_t)1);
  uncaught("free((void *)1)");
  return 0;
}
