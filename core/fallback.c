/* fallback.c - requests the pools do not serve go to mimalloc.
 *
 * Debian 12's mimalloc 2.0.9 breaks glibc's contract in places: small
 * blocks only 8-byte aligned, realloc(p, 0) returning a block, no errno on
 * some failures, and mi_aligned_alloc able to return misaligned memory
 * (mimalloc issue 700, fixed in 2.1). These wrappers keep the contract
 * whatever mimalloc does: they ask for at least 16-byte alignment, check the
 * alignment of what comes back, and set ENOMEM on every NULL.
 */
#include <errno.h>
#include <mimalloc.h>
#include <stdint.h>

#include "engine.h"

void *tp_fwd_alloc(size_t n, size_t align, int reason) {
  (void)reason;
  if (n > PTRDIFF_MAX) goto enomem;
  if (n == 0) n = 1;
  int saved = errno; /* mimalloc may leave errno changed on success (ENOENT seen) */
  void *p = mi_malloc_aligned(n, align);
  if (p && ((uintptr_t)p & (align - 1))) {
    /* mimalloc issue 700: retry with room to spare, then give up. */
    mi_free(p);
    p = (n + align > n) ? mi_malloc_aligned(n + align, align) : NULL;
    if (p && ((uintptr_t)p & (align - 1))) {
      mi_free(p);
      p = NULL;
    }
  }
  if (p) {
    errno = saved;
    return p;
  }
enomem:
  errno = ENOMEM;
  return NULL;
}

/* No check that mimalloc owns p: mi_is_in_heap_region() of 2.0.9 answers
 * only for segments inside its address map and says "no" for valid blocks
 * mapped elsewhere (seen under ASan), so it cannot gate an abort. */
void tp_fwd_free(void *p) {
  int saved = errno; /* POSIX.1-2024: free() leaves errno alone */
  mi_free(p);
  errno = saved;
}

size_t tp_fwd_usable(const void *p) { return mi_usable_size(p); }
