/* hardening.c - reports of bad frees, and the check of
 * pointers that are neither pooled nor known to mimalloc; never allocates
 * (log.h writes them). */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "log.h"
#include "hardening.h"
#include "hooks.h"

void tp_report_bad_free(const char *what, const void *p, size_t tier_size) {
  if (tier_size)
    tp_warn("%s: %p (tier %zu B); aborting. TIERPOOL_LEAKS=all TIERPOOL_LEAKS_FREES=1 "
            "names the stacks that allocated and freed the block.", what, p, tier_size);
  else
    tp_warn("%s: %p (not from the pools nor from mimalloc); aborting", what, p);
  tp_hooks_run_bad_free(p); /* with leak tracking: the stack that allocated it */
  abort();
}

/* ------------------------------------------------------------ foreign pointers */

void tp_report_foreign(const char *what, const void *p) {
  tp_warn("%s of a pointer not from the pools nor from mimalloc: %p; aborting", what, p);
  tp_hooks_run_bad_free(p); /* with leak tracking: the stack of a block p points into */
  abort();
}

extern void *__libc_stack_end; /* glibc: near the top of the main thread's stack */

#define TP_MI_SEGMENT_SIZE ((uintptr_t)32 << 20) /* mimalloc 2.0.9: MI_SEGMENT_SHIFT 25 */

/* Whether p lies on the calling thread's stack, from the current frame up:
 * glibc puts a thread's descriptor (pthread_self) just above its stack; the
 * main thread's stack ends near __libc_stack_end (argv and environment
 * above it, taken as stack too). A user-supplied thread stack is not
 * recognised: p then falls through to the other checks. */
static int on_my_stack(uintptr_t p) {
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  uintptr_t self = (uintptr_t)pthread_self(), top;
  if (self > sp && self - sp < ((uintptr_t)1 << 30)) top = self;
  else top = (uintptr_t)__libc_stack_end + ((uintptr_t)1 << 20);
  return p >= sp && p < top;
}

void tp_check_foreign(const char *what, const void *p) {
  int saved = errno;
  struct dl_find_object obj;
  if (on_my_stack((uintptr_t)p)) {
    tp_warn("%s of a stack address: %p (not from malloc); aborting", what, p);
    abort();
  }
  if (_dl_find_object((void *)p, &obj) == 0) {
    const char *name = obj.dlfo_link_map && obj.dlfo_link_map->l_name[0]
                           ? obj.dlfo_link_map->l_name : "the program";
    tp_warn("%s of a static: %p (inside %s, not from malloc); aborting", what, p, name);
    abort();
  }
  /* mimalloc reads the segment header at p rounded down to its segment
   * size: if that page is not mapped, p is no mimalloc block (and mi_free
   * would crash on it). mincore is the probe that cannot fault. */
  unsigned char vec;
  void *seg = (void *)((uintptr_t)p & ~(TP_MI_SEGMENT_SIZE - 1));
  if (mincore(seg, 4096, &vec) != 0 && errno == ENOMEM) tp_report_foreign(what, p);
  errno = saved;
}
