/* rlimit: a program that lowers RLIMIT_AS at run time, in the style of
 * glibc's tst-malloc-thread-fail: after setrlimit(RLIMIT_AS, 200 MiB),
 * threads still start, pooled and forwarded requests are served, pooled
 * memory counts toward the limit (allocation fails with ENOMEM past it,
 * never crashes), and memory freed can be had again at the same size.
 *
 *   rlimit [MiB]   the limit (default 200)
 *
 * Prints VmSize before the limit, what it allocated, "survived" at the end.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>

#include "common.h"

static size_t vm_size_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  CHECK(f);
  char line[256];
  size_t kib = 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmSize:", 7)) kib = strtoull(line + 7, NULL, 10);
  fclose(f);
  return kib;
}

/* Each thread: pooled small and large tiers, and forwarded blocks, written
 * and checked. */
static void *worker(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  static const size_t sizes[] = {24, 64, 1000, 4096, 65536, 1 << 20, 3 << 20};
  for (int round = 0; round < 20; round++) {
    void *p[7];
    for (int i = 0; i < 7; i++) {
      p[i] = malloc(opaque(sizes[i]));
      if (!p[i]) return (void *)1;
      memset(p[i], (int)(id + i), sizes[i]);
    }
    for (int i = 0; i < 7; i++) {
      if (((unsigned char *)p[i])[sizes[i] - 1] != (unsigned char)(id + i)) return (void *)2;
      free(p[i]);
    }
  }
  return NULL;
}

static void run_threads(const char *when) {
  pthread_t t[4];
  for (uintptr_t i = 0; i < 4; i++) {
    int rc = pthread_create(&t[i], NULL, worker, (void *)i);
    if (rc) {
      fprintf(stderr, "%s: pthread_create: %s\n", when, strerror(rc));
      exit(1);
    }
  }
  for (int i = 0; i < 4; i++) {
    void *r;
    CHECK(pthread_join(t[i], &r) == 0);
    if (r) {
      fprintf(stderr, "%s: a thread's allocation failed (%d)\n", when, (int)(uintptr_t)r);
      exit(1);
    }
  }
  say("%s: 4 threads ran\n", when);
}

/* Allocates blocks of size until malloc says no (ENOMEM), chained through
 * their first word; returns the chain and stores the bytes had. */
static void **exhaust(size_t size, size_t *bytes) {
  void **chain = NULL;
  *bytes = 0;
  for (;;) {
    errno = 0;
    void **p = malloc(opaque(size));
    if (!p) {
      CHECK(errno == ENOMEM);
      return chain;
    }
    memset(p, 1, size); /* the memory is really there */
    p[0] = chain;
    chain = p;
    *bytes += size;
  }
}

static void free_chain(void **chain) {
  while (chain) {
    void **next = chain[0];
    free(chain);
    chain = next;
  }
}

int main(int argc, char **argv) {
  size_t limit = (argc > 1 ? strtoull(argv[1], NULL, 0) : 200) * MiB;
  say("VmSize before: %zu KiB\n", vm_size_kib());
  struct rlimit rl = {limit, limit};
  CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
  run_threads("after setrlimit");
  void *big = malloc(opaque(8 * MiB)); /* forwarded, inside the limit */
  CHECK(big);
  memset(big, 1, 8 * MiB);
  free(big);
  /* Blocks of each size until ENOMEM: pooled memory counts toward the
   * limit, and fails cleanly past it. Freed, the same tier has them all
   * again. (It keeps them mapped: address space pooled once stays with
   * the pool; see the README.) */
  static const size_t sizes[] = {64, 4096, MiB};
  for (int k = 0; k < 3; k++) {
    size_t got, again;
    void **chain = exhaust(sizes[k], &got);
    say("blocks of %zu B: %zu MiB before ENOMEM\n", sizes[k], got >> 20);
    CHECK(got < limit);
    free_chain(chain);
    chain = exhaust(sizes[k], &again);
    CHECK(again >= got);
    free_chain(chain);
  }
  say("survived\n");
  return 0;
}
