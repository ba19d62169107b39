/* malloc.c - the C malloc family, mapped onto the engine. Each entry point
 * checks its arguments, calls the engine and sets errno: nothing else
 * lives here. The __libc_* names are exported too, so programs and
 * libraries that call them directly (pitfall: rpmalloc PR #374) do not
 * escape to glibc's heap. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "engine.h"

#define TP_ALIAS(name) __attribute__((alias(#name), visibility("default")))

static inline size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

TP_API TP_RESIDENT void *malloc(size_t n) { return tp_malloc(n); }
TP_API TP_RESIDENT void free(void *p) { tp_free(p); }
TP_API void *calloc(size_t n, size_t m) { return tp_calloc(n, m); }
TP_API void *realloc(void *p, size_t n) { return tp_realloc(p, n); }
TP_API void *reallocarray(void *p, size_t n, size_t m) { return tp_reallocarray(p, n, m); }
TP_API size_t malloc_usable_size(void *p) { return tp_usable_size(p); }

/* C23: the size and alignment are hints a pool does not need. */
TP_API void free_sized(void *p, size_t n) { (void)n; tp_free(p); }
TP_API void free_aligned_sized(void *p, size_t a, size_t n) { (void)a; (void)n; tp_free(p); }

TP_API void *memalign(size_t align, size_t n) {
  size_t a = tp_round_pow2(align); /* memalign rounds up; 0: too big */
  if (!a) {
    errno = EINVAL;
    return NULL;
  }
  return tp_aligned(a, n);
}

/* C17/DR 460 and glibc 2.38: an alignment that is not a power of two fails. */
TP_API void *aligned_alloc(size_t align, size_t n) {
  if (!tp_is_pow2(align)) {
    errno = EINVAL;
    return NULL;
  }
  return tp_aligned(align, n);
}

TP_API int posix_memalign(void **out, size_t align, size_t n) {
  if (!tp_is_pow2(align) || align % sizeof(void *)) return EINVAL;
  int saved = errno; /* POSIX: report through the return value only */
  void *p = tp_aligned(align, n);
  errno = saved;
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

TP_API void *valloc(size_t n) { return tp_aligned(page_size(), n); }

TP_API void *pvalloc(size_t n) {
  size_t pg = page_size();
  size_t rounded;
  if (__builtin_add_overflow(n, pg - 1, &rounded)) {
    errno = ENOMEM;
    return NULL;
  }
  rounded &= ~(pg - 1);
  return tp_aligned(pg, rounded ? rounded : pg);
}

TP_API int malloc_trim(size_t pad) { return tp_trim(pad); }

/* Old and internal names. */
TP_RESIDENT void cfree(void *p) TP_ALIAS(free);
TP_RESIDENT void *__libc_malloc(size_t n) TP_ALIAS(malloc);
TP_RESIDENT void __libc_free(void *p) TP_ALIAS(free);
void *__libc_calloc(size_t n, size_t m) TP_ALIAS(calloc);
void *__libc_realloc(void *p, size_t n) TP_ALIAS(realloc);
void *__libc_memalign(size_t a, size_t n) TP_ALIAS(memalign);
void *__libc_valloc(size_t n) TP_ALIAS(valloc);
void *__libc_pvalloc(size_t n) TP_ALIAS(pvalloc);
int __posix_memalign(void **out, size_t a, size_t n) TP_ALIAS(posix_memalign);
