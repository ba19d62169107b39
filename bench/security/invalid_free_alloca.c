/* free of memory from alloca (the stack again, reached another way). */
#include <alloca.h>

#include "probe.h"

int main(void) {
  void *a = alloca(PROBE_SIZE);
  heap_put(a);
  uncaught("free of alloca memory");
  return 0;
}
