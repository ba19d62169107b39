/* A stale pointer freed after its block was handed out again: free p,
 * q = malloc (very likely p's block), free p, free q. The second free of
 * p is legal-looking if q took the block; the free of q is then a double
 * free. */
#include "probe.h"

int main(void) {
  void *p = heap_get(PROBE_SIZE);
  heap_put(p);
  void *q = heap_get(PROBE_SIZE);
  heap_put(p);
  heap_put(q);
  uncaught("free p, q = malloc, free p, free q");
  return 0;
}
