/* Property: heap memory cannot be executed. The probe writes a function
 * that only returns (x86: nop, ret) into a block and calls it. */
#include "probe.h"

int main(void) {
#if defined(__x86_64__) || defined(__i386__)
  static const unsigned char code[] = {0x90, 0xc3};
  char *p = heap_get(PROBE_SIZE);
  copy_bytes(p, code, sizeof code);
  void (*run)(void) = (void (*)(void))(uintptr_t)p;
  run();
  uncaught("code in a heap block ran");
#else
  puts("executable_heap: x86 only, skipped");
#endif
  return 0;
}
