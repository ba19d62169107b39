/* touch_probe.c - what a process pays for pages it writes once, whole:
 * preloaded beside a program, it writes TOUCH_PAGES pages spread over
 * TOUCH_WINDOWS fresh 2 MiB windows of the address space at start, as
 * leak tracking's first captures do, and nothing else. docs/leaks.md
 * ("First touches") compares `workloads tree 14` with and without it:
 *
 *   gcc -O2 -shared -fPIC -o /tmp/touch_probe.so bench/leaks/touch_probe.c
 *   W=build/bench-leaks/workloads L=$PWD/build/libtierpool.so
 *   scripts/ab --pads 0,500,1000,1500,2000,2500,3000,3500 31 \
 *     plain "LD_PRELOAD=$L $W tree 14" \
 *     probe "LD_PRELOAD=$L:/tmp/touch_probe.so TOUCH_WINDOWS=2 TOUCH_PAGES=15 $W tree 14" \
 *     sample "LD_PRELOAD=$L TIERPOOL_LEAKS=sample $W tree 14"
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>

__attribute__((constructor)) static void touch(void) {
  const char *w = getenv("TOUCH_WINDOWS"), *p = getenv("TOUCH_PAGES");
  int nw = w ? atoi(w) : 0, np = p ? atoi(p) : 0;
  if (nw <= 0 || np <= 0) return;
  size_t window = (size_t)2 << 20;
  char *m = mmap(NULL, (size_t)(nw + 1) * window, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return;
  char *b = (char *)(((unsigned long)m + window - 1) & ~(window - 1));
  /* Page i in window i % nw, one after another within each window. */
  for (int i = 0; i < np; i++) b[(size_t)(i % nw) * window + (size_t)(i / nw) * 4096] = 1;
}
