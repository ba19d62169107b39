/* Property: a request no machine can meet (SIZE_MAX - 1 bytes) fails with
 * NULL instead of returning a block (a wrapped size computation would). */
#include "probe.h"

int main(void) {
  void *p = heap_get(SIZE_MAX - 1);
  if (p) uncaught("malloc(SIZE_MAX - 1) returned a block");
  heap_put(p);
  return 0;
}
