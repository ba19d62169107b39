/* Property: a freed block is not handed straight back by the next malloc
 * of the same size (immediate reuse makes a use after free an easy type
 * confusion). */
#include "probe.h"

int main(void) {
  void *first = heap_get(PROBE_SIZE);
  heap_put(first);
  void *second = heap_get(PROBE_SIZE);
  if (second == first) uncaught("the next malloc of the same size returned the freed block");
  return 0;
}
