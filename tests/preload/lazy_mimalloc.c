/* mimalloc is loaded on the first request that needs it (core/fallback.c):
 * a program whose requests the pools and large.c serve never maps it; a
 * request with an alignment past 64 bytes and over a tier's size maps it
 * and is served by it. With an argument, the program first lowers
 * RLIMIT_AS so far that no mapping can be made: setrlimit itself loads
 * mimalloc before the limit applies (a load under such a limit would
 * fail). Run preloaded. */
#define _GNU_SOURCE /* prlimit */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int mapped(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  char line[4096];
  int found = 0;
  while (fgets(line, sizeof line, f)) found |= strstr(line, "libmimalloc") != NULL;
  fclose(f);
  return found;
}

#define FAIL(...) do { fprintf(stderr, "lazy_mimalloc: " __VA_ARGS__); return 1; } while (0)

int main(int argc, char **argv) {
  (void)argv;
  void *small = malloc(100), *large = malloc((size_t)3 << 20); /* pools, large.c */
  if (!small || !large) FAIL("malloc failed\n");
  free(small);
  free(large);
  if (mapped() != 0) FAIL("mimalloc mapped before any request needed it\n");
  /* setrlimit and prlimit are tierpool's: glibc's answers, unchanged. */
  struct rlimit one = {1, 1}, was, now;
  errno = 0;
  if (setrlimit((__rlimit_resource_t)9999, &one) != -1 || errno != EINVAL)
    FAIL("setrlimit of no resource: want -1/EINVAL\n");
  struct rlimit *volatile none = NULL; /* the kernel takes it: a query */
  if (setrlimit(RLIMIT_NOFILE, none) != 0) FAIL("setrlimit(RLIMIT_NOFILE, NULL): %s\n", strerror(errno));
  if (getrlimit(RLIMIT_NOFILE, &was) != 0 || was.rlim_cur < 2) FAIL("getrlimit(RLIMIT_NOFILE)\n");
  struct rlimit less = {was.rlim_cur - 1, was.rlim_max};
  if (prlimit(0, RLIMIT_NOFILE, &less, &now) != 0 || now.rlim_cur != was.rlim_cur ||
      getrlimit(RLIMIT_NOFILE, &now) != 0 || now.rlim_cur != less.rlim_cur)
    FAIL("prlimit(RLIMIT_NOFILE): old or new limit wrong\n");
  if (argc > 1) { /* the limit first, then the first forwarded request */
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0) FAIL("getrlimit: %s\n", strerror(errno));
    r.rlim_cur = 1; /* no new mapping can be made at all */
    if (setrlimit(RLIMIT_AS, &r) != 0) FAIL("setrlimit: %s\n", strerror(errno));
    if (mapped() != 1) FAIL("setrlimit lowered RLIMIT_AS without loading mimalloc first\n");
    r.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_AS, &r) != 0) FAIL("setrlimit back: %s\n", strerror(errno));
  }
  void *al = aligned_alloc((size_t)4 << 20, (size_t)5 << 20); /* past the tiers, 4 MiB aligned */
  if (!al || (uintptr_t)al % ((size_t)4 << 20)) FAIL("aligned_alloc(4 MiB, 5 MiB): %p\n", al);
  memset(al, 1, (size_t)5 << 20);
  if (mapped() != 1) FAIL("a 4 MiB-aligned request was served without mimalloc\n");
  free(al);
  printf("lazy_mimalloc: loaded on the first request for it%s\n",
         argc > 1 ? " (by setrlimit)" : "");
  return 0;
}
