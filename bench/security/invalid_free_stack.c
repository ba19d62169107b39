/* free of an array on the stack. */
#include "probe.h"

int main(void) {
  char local[PROBE_SIZE];
  heap_put(local);
  uncaught("free of a stack array");
  return 0;
}
