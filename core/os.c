/* os.c - mmap, mprotect, madvise and munmap behind one interface (os.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "common.h" /* TP_RESIDENT, TP_START_DATA */
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
typedef struct {
  _Atomic uintptr_t lo, hi;
} tp_own_slot_t;
/* The first slots, which every process writes (its thread caches), lie
 * with the other globals it writes at start (TP_START_DATA); the rest in
 * zeroed data, which a small process does not touch. */
#define TP_OS_OWN_FIRST 8
TP_START_DATA static tp_own_slot_t own_first[TP_OS_OWN_FIRST];
static tp_own_slot_t own_rest[TP_OS_OWN - TP_OS_OWN_FIRST];
/* Slots ever claimed, [0, own_top): a reader goes no further (a process
 * has tens of them, and a walk of all 4096 was a good part of a short
 * program's exit scan). */
TP_START_DATA static _Atomic size_t own_top;

static inline tp_own_slot_t *own_slot(size_t i) {
  return i < TP_OS_OWN_FIRST ? &own_first[i] : &own_rest[i - TP_OS_OWN_FIRST];
}

TP_RESIDENT static void own_add(void *m, size_t bytes) {
  for (size_t i = 0; i < TP_OS_OWN; i++) {
    uintptr_t free_ = 0;
    if (atomic_load_explicit(&own_slot(i)->lo, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong(&own_slot(i)->lo, &free_, (uintptr_t)m)) {
      atomic_store(&own_slot(i)->hi, (uintptr_t)m + bytes);
      size_t top = atomic_load(&own_top);
      while (top < i + 1 && !atomic_compare_exchange_weak(&own_top, &top, i + 1)) {}
      return;
    }
  }
}

TP_RESIDENT void *tp_os_map(size_t bytes, bool noreserve) {
  void *m = map(bytes, PROT_READ | PROT_WRITE, noreserve ? MAP_NORESERVE : 0);
  if (m) own_add(m, bytes);
  return m;
}

void *tp_os_map_window(size_t bytes) {
  char *m = tp_os_map(bytes + TP_WINDOW - TP_PAGE_SIZE, true);
  return m ? (void *)(((uintptr_t)m + TP_WINDOW - 1) & ~(TP_WINDOW - 1)) : NULL;
}

void tp_os_unmap(void *p, size_t bytes) {
  size_t top = atomic_load(&own_top);
  for (size_t i = 0; i < top; i++)
    if (atomic_load_explicit(&own_slot(i)->lo, memory_order_relaxed) == (uintptr_t)p) {
      atomic_store(&own_slot(i)->hi, 0);
      atomic_store(&own_slot(i)->lo, 0);
      break;
    }
  munmap(p, bytes);
}

size_t tp_os_own(uintptr_t (*out)[2], size_t max) {
  size_t n = 0;
  size_t top = atomic_load(&own_top);
  for (size_t i = 0; i < top && n < max; i++) {
    uintptr_t lo = atomic_load(&own_slot(i)->lo), hi = atomic_load(&own_slot(i)->hi);
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
