/* os.c - mmap, mprotect, madvise and munmap behind one interface (os.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "os.h"

static void *map(size_t bytes, int prot, int extra) {
  void *m = mmap(NULL, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
  return m == MAP_FAILED ? NULL : m;
}

void *tp_os_reserve(size_t bytes) { return map(bytes, PROT_NONE, MAP_NORESERVE); }

/* The engine's own mappings (tp_os_map), so that a reader of the address
 * space can tell them from the program's: the leak check scans the
 * program's anonymous memory for pointers, and these tables hold block
 * addresses that are not the program's (the forwarded table, the sampled
 * blocks, the profile's sites). A slot is claimed with a CAS on lo; one
 * that cannot be claimed (more than TP_OS_OWN mappings) goes unlisted. */
#define TP_OS_OWN 4096
static struct {
  _Atomic uintptr_t lo, hi;
} tp_os_own_maps[TP_OS_OWN];

static void own_add(void *m, size_t bytes) {
  for (size_t i = 0; i < TP_OS_OWN; i++) {
    uintptr_t free_ = 0;
    if (atomic_load_explicit(&tp_os_own_maps[i].lo, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong(&tp_os_own_maps[i].lo, &free_, (uintptr_t)m)) {
      atomic_store(&tp_os_own_maps[i].hi, (uintptr_t)m + bytes);
      return;
    }
  }
}

void *tp_os_map(size_t bytes, bool noreserve) {
  void *m = map(bytes, PROT_READ | PROT_WRITE, noreserve ? MAP_NORESERVE : 0);
  if (m) own_add(m, bytes);
  return m;
}

void tp_os_unmap(void *p, size_t bytes) {
  for (size_t i = 0; i < TP_OS_OWN; i++)
    if (atomic_load_explicit(&tp_os_own_maps[i].lo, memory_order_relaxed) == (uintptr_t)p) {
      atomic_store(&tp_os_own_maps[i].hi, 0);
      atomic_store(&tp_os_own_maps[i].lo, 0);
      break;
    }
  munmap(p, bytes);
}

size_t tp_os_own(uintptr_t (*out)[2], size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < TP_OS_OWN && n < max; i++) {
    uintptr_t lo = atomic_load(&tp_os_own_maps[i].lo), hi = atomic_load(&tp_os_own_maps[i].hi);
    if (lo && hi > lo) {
      out[n][0] = lo;
      out[n][1] = hi;
      n++;
    }
  }
  return n;
}

bool tp_os_map_at(void *addr, size_t bytes) {
  void *m = mmap(addr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (m == addr) return true;
  if (m != MAP_FAILED) munmap(m, bytes); /* a kernel older than 4.17 took it as a hint */
  return false;
}

bool tp_os_is_mapped(void *addr) {
  unsigned char v;
  return mincore(addr, TP_PAGE_SIZE, &v) == 0 || errno != ENOMEM;
}

bool tp_os_commit(void *p, size_t bytes) { return mprotect(p, bytes, PROT_READ | PROT_WRITE) == 0; }

bool tp_os_discard(void *p, size_t bytes) { return madvise(p, bytes, MADV_DONTNEED) == 0; }
