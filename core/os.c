/* os.c - mmap, mprotect, madvise and munmap behind one interface (os.h).
 * Every call keeps errno as it found it: free() must not change it
 * (POSIX.1-2024), and the callers that fail say ENOMEM themselves. */
#include <errno.h>
#include <sys/mman.h>

#include "os.h"

static void *map(size_t bytes, int prot, int extra) {
  int saved = errno;
  void *m = mmap(NULL, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
  errno = saved;
  return m == MAP_FAILED ? NULL : m;
}

void *tp_os_reserve(size_t bytes) { return map(bytes, PROT_NONE, MAP_NORESERVE); }

void *tp_os_map(size_t bytes, bool noreserve) {
  return map(bytes, PROT_READ | PROT_WRITE, noreserve ? MAP_NORESERVE : 0);
}

void tp_os_unmap(void *p, size_t bytes) {
  int saved = errno;
  munmap(p, bytes);
  errno = saved;
}

bool tp_os_commit(void *p, size_t bytes) {
  int saved = errno;
  bool ok = mprotect(p, bytes, PROT_READ | PROT_WRITE) == 0;
  errno = saved;
  return ok;
}

bool tp_os_discard(void *p, size_t bytes) {
  int saved = errno;
  bool ok = madvise(p, bytes, MADV_DONTNEED) == 0;
  errno = saved;
  return ok;
}
