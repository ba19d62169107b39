/* os.c - mmap, mprotect, madvise and munmap behind one interface (os.h). */
#include <errno.h>
#include <sys/mman.h>

#include "os.h"

static void *map(size_t bytes, int prot, int extra) {
  void *m = mmap(NULL, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
  return m == MAP_FAILED ? NULL : m;
}

void *tp_os_reserve(size_t bytes) { return map(bytes, PROT_NONE, MAP_NORESERVE); }

void *tp_os_map(size_t bytes, bool noreserve) {
  return map(bytes, PROT_READ | PROT_WRITE, noreserve ? MAP_NORESERVE : 0);
}

void tp_os_unmap(void *p, size_t bytes) { munmap(p, bytes); }

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
