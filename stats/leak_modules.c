/* leak_modules.c - the loaded objects a stack runs through (see
 * leak_int.h): each frame of a new stack is tied to the module it lies in
 * (_dl_find_object, lock-free), with that module's path and load bias
 * copied, so the report can name a library closed before exit; and the
 * spans of loaded objects (tierpool's own, mimalloc's).
 *
 * Locks: appending a module takes module_lock; on an older glibc without
 * _dl_find_object that happens inside dl_iterate_phdr's callback, so the
 * order is always "loader lock, then ours"; nothing here waits for the
 * loader while holding module_lock.
 */
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leak_int.h"
#include "spin.h"

/* ------------------------------------------------------------ spans */

void tp_load_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi) {
  *lo = UINTPTR_MAX;
  *hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    if (a < *lo) *lo = a;
    if (a + ph->p_memsz > *hi) *hi = a + ph->p_memsz;
  }
  if (*lo > *hi) *lo = *hi = 0;
}

typedef struct {
  uintptr_t addr, span[2];
  bool main_program;
} tp_span_ask_t;

static int holder(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  tp_span_ask_t *q = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || q->addr - (info->dlpi_addr + ph->p_vaddr) >= ph->p_memsz) continue;
    tp_load_span(info, &q->span[0], &q->span[1]);
    q->main_program = !info->dlpi_name || !info->dlpi_name[0];
    return 1;
  }
  return 0;
}

void tp_object_span(uintptr_t addr, uintptr_t out[2], bool *main_program) {
  tp_span_ask_t q = {.addr = addr};
  if (addr) dl_iterate_phdr(holder, &q);
  out[0] = q.span[0];
  out[1] = q.span[1];
  if (main_program) *main_program = q.main_program;
}

/* ------------------------------------------------------------ modules */

/* The main program's path is read when a report first asks: the first
 * look at /proc costs a process about 50 us (and, at start, every process
 * paid it). Its module is kept as "" until then, which the loader's own
 * name for it is. A reader that finds another reading waits for it. */
const char *tp_module_path(const tp_module_t *m) {
  tp_leak_tab_t *t = &tp_leak_tab;
  if (m->path) return t->paths + m->path;
  int s = 0;
  if (atomic_compare_exchange_strong(&t->exe_state, &s, 1)) {
    ssize_t k = readlink("/proc/self/exe", t->exe, sizeof t->exe - 1);
    t->exe[k > 0 ? k : 0] = '\0';
    atomic_store_explicit(&t->exe_state, 2, memory_order_release);
  } else {
    while (atomic_load_explicit(&t->exe_state, memory_order_acquire) != 2) sched_yield();
  }
  return t->exe;
}

static void module_lock(void) { tp_spin_lock(&tp_leak_tab.module_lock); }
static void module_unlock(void) { tp_spin_unlock(&tp_leak_tab.module_lock); }

/* The id of the module loaded at base with this span and path, added if
 * new. May be called inside dl_iterate_phdr's callback (the fallback). */
static unsigned module_intern(const char *path, uintptr_t base, uintptr_t lo, uintptr_t hi) {
  tp_leak_tab_t *t = &tp_leak_tab;
  char abs[PATH_MAX];
  if (!path) path = ""; /* the main program's "": tp_module_path */
  /* dlopen("./libx.so") leaves a relative name: make it absolute now, the
   * program may change directory before the report reads the file. */
  else if (path[0] != '/' && strchr(path, '/') && realpath(path, abs)) path = abs;
  module_lock();
  uint32_t n = atomic_load_explicit(&t->nmodules, memory_order_relaxed);
  for (uint32_t m = n; m-- > 0;) {
    const tp_module_t *e = &t->modules[m];
    if (e->base == base && e->lo == lo && e->hi == hi && !strcmp(t->paths + e->path, path)) {
      module_unlock();
      return m;
    }
  }
  size_t len = path[0] ? strlen(path) + 1 : 0; /* "" is paths[0] */
  unsigned id = TP_LEAK_NO_MODULE;
  /* The paths fill from the top down (tp_stack_init), above paths[0]. */
  if (n < TP_LEAK_MAX_MODULES && n < TP_LEAK_NO_MODULE && t->npaths + len < TP_LEAK_PATH_BYTES) {
    tp_module_t *e = &t->modules[n];
    uint32_t at = TP_LEAK_PATH_BYTES - t->npaths - (uint32_t)len;
    memcpy(t->paths + at, path, len);
    e->path = len ? at : 0;
    e->base = base;
    e->lo = lo;
    e->hi = hi;
    t->npaths += (uint32_t)len;
    atomic_store_explicit(&t->nmodules, n + 1, memory_order_release);
    id = n;
  }
  module_unlock();
  return id;
}

/* _dl_find_object (glibc 2.35) answers "which object holds this address"
 * without a lock, for unwinders; dl_iterate_phdr (which takes the loader's
 * lock) is the fallback on an older glibc. */
#pragma weak _dl_find_object

/* A module already in the table that holds ip, found without the lock
 * (entries are immutable once published); TP_LEAK_NO_MODULE if none. */
static unsigned module_known(uintptr_t ip, uintptr_t base, const char *path) {
  const tp_leak_tab_t *t = &tp_leak_tab;
  if (!path) path = "";
  for (uint32_t m = atomic_load_explicit(&t->nmodules, memory_order_acquire); m-- > 0;) {
    const tp_module_t *e = &t->modules[m];
    /* A relative name was made absolute when it was added (module_intern). */
    if (ip - e->lo < e->hi - e->lo && e->base == base &&
        (path[0] != '/' || !strcmp(t->paths + e->path, path)))
      return m;
  }
  return TP_LEAK_NO_MODULE;
}

static unsigned module_of(uintptr_t ip) {
  struct dl_find_object r;
  if (_dl_find_object((void *)ip, &r) != 0 || !r.dlfo_link_map) return TP_LEAK_NO_MODULE;
  const struct link_map *lm = r.dlfo_link_map;
  unsigned m = module_known(ip, lm->l_addr, lm->l_name);
  if (m != TP_LEAK_NO_MODULE) return m;
  return module_intern(lm->l_name, lm->l_addr, (uintptr_t)r.dlfo_map_start,
                       (uintptr_t)r.dlfo_map_end);
}

typedef struct tp_find_s {
  const uintptr_t *ips;
  uint16_t *mods;
  unsigned n, left;
} tp_find_t;

static int find_modules(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  tp_find_t *f = arg;
  uintptr_t lo, hi;
  tp_load_span(info, &lo, &hi);
  unsigned id = TP_LEAK_NO_MODULE + 1; /* not interned yet */
  for (unsigned i = 0; i < f->n; i++) {
    if (f->mods[i] != TP_LEAK_NO_MODULE || f->ips[i] - lo >= hi - lo) continue;
    /* In the span; check the segment itself (a span may have holes). */
    bool in = false;
    for (int s = 0; s < info->dlpi_phnum && !in; s++) {
      const ElfW(Phdr) *ph = &info->dlpi_phdr[s];
      in = ph->p_type == PT_LOAD && f->ips[i] - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz;
    }
    if (!in) continue;
    if (id > TP_LEAK_NO_MODULE) id = module_intern(info->dlpi_name, info->dlpi_addr, lo, hi);
    f->mods[i] = (uint16_t)id;
    f->left--;
  }
  return f->left == 0; /* stop once every frame is placed */
}

/* Ties each frame to its module. */
void tp_resolve_modules(const uintptr_t *ips, uint16_t *mods, unsigned n) {
  for (unsigned i = 0; i < n; i++) mods[i] = TP_LEAK_NO_MODULE;
  if (!_dl_find_object) {
    tp_find_t f = {ips, mods, n, n};
    dl_iterate_phdr(find_modules, &f);
    return;
  }
  const tp_leak_tab_t *t = &tp_leak_tab;
  for (unsigned i = 0; i < n; i++) {
    /* Frames next to each other are often in one module. */
    if (i && mods[i - 1] != TP_LEAK_NO_MODULE) {
      const tp_module_t *e = &t->modules[mods[i - 1]];
      if (ips[i] - e->lo < e->hi - e->lo) {
        mods[i] = mods[i - 1];
        continue;
      }
    }
    mods[i] = (uint16_t)module_of(ips[i]);
  }
}
