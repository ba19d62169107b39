/* new_delete.c - C++ operator new and delete, defined here so that every
 * C++ allocation lands in the pools whichever libstdc++ or mimalloc symbol
 * the dynamic linker would otherwise find first (Debian's libmimalloc.so
 * exports its own operators). Written in C with the Itanium-mangled names
 * so the library does not depend on libstdc++: the two libstdc++ functions
 * the contract needs are weak references, present whenever C++ code runs.
 * Built with -fexceptions so bad_alloc unwinds through these frames.
 */
#include <stddef.h>

#include "engine.h"

/* The size, alignment and nothrow tag of delete are hints the pools do not need. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

typedef void (*tp_new_handler)(void);
extern tp_new_handler _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/* Calls the new_handler until memory comes or there is none; returns NULL
 * only when nothrow, otherwise throws std::bad_alloc. */
static TP_NOINLINE void *new_failed(size_t n, size_t align, int nothrow) {
  for (;;) {
    tp_new_handler h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
    if (!h) {
      if (nothrow || !_ZSt17__throw_bad_allocv) return NULL;
      _ZSt17__throw_bad_allocv();
    }
    h();
    void *p = tp_aligned(align, n);
    if (p) return p;
  }
}

#define TP_NEW(name, align_expr, nothrow, ...)                                 \
  TP_API void *name(size_t n, ##__VA_ARGS__) {                                 \
    size_t a_ = (align_expr);                                                  \
    void *p = a_ <= TP_MIN_SIZE ? tp_malloc(n) : tp_aligned(a_, n);            \
    return tp_likely(p != NULL) ? p : new_failed(n, a_, nothrow);              \
  }

/* operator new / new[] (size), (size, nothrow), (size, align), (size, align, nothrow) */
TP_NEW(_Znwm, 0, 0)
TP_NEW(_Znam, 0, 0)
TP_NEW(_ZnwmRKSt9nothrow_t, 0, 1, const void *nt)
TP_NEW(_ZnamRKSt9nothrow_t, 0, 1, const void *nt)
TP_NEW(_ZnwmSt11align_val_t, al, 0, size_t al)
TP_NEW(_ZnamSt11align_val_t, al, 0, size_t al)
TP_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, al, 1, size_t al, const void *nt)
TP_NEW(_ZnamSt11align_val_tRKSt9nothrow_t, al, 1, size_t al, const void *nt)

#define TP_DELETE(name, ...) \
  TP_API void name(void *p, ##__VA_ARGS__) { tp_free(p); }

/* operator delete / delete[]: plain, sized, aligned, sized+aligned, nothrow */
TP_DELETE(_ZdlPv)
TP_DELETE(_ZdaPv)
TP_DELETE(_ZdlPvm, size_t n)
TP_DELETE(_ZdaPvm, size_t n)
TP_DELETE(_ZdlPvSt11align_val_t, size_t a)
TP_DELETE(_ZdaPvSt11align_val_t, size_t a)
TP_DELETE(_ZdlPvmSt11align_val_t, size_t n, size_t a)
TP_DELETE(_ZdaPvmSt11align_val_t, size_t n, size_t a)
TP_DELETE(_ZdlPvRKSt9nothrow_t, const void *nt)
TP_DELETE(_ZdaPvRKSt9nothrow_t, const void *nt)
TP_DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, size_t a, const void *nt)
TP_DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, size_t a, const void *nt)
