/* Property: a freed block is not handed straight back by the next malloc
 * of half its size. */
#include "probe.h"

int main(void) {
  void *first = heap_get(PROBE_SIZE);
  heap_put(first);
  void *second = heap_get(PROBE_SIZE / 2);
  if (second == first) uncaught("the next malloc of half the size returned the freed block");
  return 0;
}
