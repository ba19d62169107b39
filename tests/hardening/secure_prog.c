/* secure_prog: linked against libtierpool (not preloaded), so that a
 * setuid copy still runs on it. It reports whether the process is in
 * secure mode (AT_SECURE) and what the TIERPOOL_ variables the driver sets
 * did to it:
 *   - TIERPOOL_MAX_TIER=4K: is a 100 000-byte block pooled (usable size
 *     131072) or forwarded?
 *   - TIERPOOL_FAIL=every=2: how many of 1000 allocations failed?
 * The driver also sets TIERPOOL_STATS (a dump file must not appear) and a
 * bad TIERPOOL_FORMAT (no warning must appear).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>

#include "tierpool.h"

int main(void) {
  void *volatile big = malloc(100000);
  size_t usable = malloc_usable_size(big);
  free(big);
  int failed = 0;
  for (int i = 0; i < 1000; i++) {
    void *volatile p = malloc(64);
    if (!p) failed++;
    free(p);
  }
  tierpool_stats_t s;
  tierpool_stats(&s);
  printf("secure=%lu usable=%zu failed=%d total_get=%llu\n", getauxval(AT_SECURE), usable, failed,
         (unsigned long long)s.total_get);
  return 0;
}
