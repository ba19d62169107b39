/* The same block freed twice in a row. */
#include "probe.h"

int main(void) {
  void *p = heap_get(PROBE_SIZE);
  heap_put(p);
  heap_put(p);
  uncaught("free twice in a row");
  return 0;
}
