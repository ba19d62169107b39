/* large_blocks.c - blocks of 1 MiB and more under the preload: glibc's
 * contract for them and the cache of freed mappings (core/large.c).
 *
 *   large_blocks contract | double_free | fork | threads | decay | trim
 *
 * Each mode is one ctest test (hardening.large_<mode>), run with
 * libtierpool preloaded; the program first checks that tierpool is in the
 * process, so that no mode can quietly test glibc. Exit 0: passed; a
 * failed check prints the condition and exits 1. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tp_test.h" /* CHECK, MiB, opaque */

/* A stamp every 512 bytes from byte 512 on (the first word is free for a
 * length), and on the last byte. */
static void stamp(unsigned char *p, size_t n, unsigned tag) {
  for (size_t i = 512; i + 1 < n; i += 512) p[i] = (unsigned char)(tag + i / 512);
  p[n - 1] = (unsigned char)tag;
}
/* The stamps below upto are intact (a block cut or grown by realloc). */
static int prefix_ok(const unsigned char *p, size_t upto, unsigned tag) {
  for (size_t i = 512; i + 1 < upto; i += 512)
    if (p[i] != (unsigned char)(tag + i / 512)) return 0;
  return 1;
}
static int stamped(const unsigned char *p, size_t n, unsigned tag) {
  return prefix_ok(p, n, tag) && p[n - 1] == (unsigned char)tag;
}
static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static long rss_kib(void) {
  char line[256];
  long v = -1;
  FILE *f = fopen("/proc/self/status", "r");
  CHECK(f);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) v = strtol(line + 6, NULL, 10);
  fclose(f);
  return v;
}

/* ------------------------------------------------------------ contract */

static void contract(void) {
  static const size_t sizes[] = {MiB, MiB + 1, 5 * MiB + 123, 25 * MiB, 100 * MiB + 7};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    unsigned char *p = malloc(opaque(n));
    CHECK(p && (uintptr_t)p % 16 == 0);
    size_t u = malloc_usable_size(p);
    CHECK(u >= n);
    stamp(p, u, (unsigned)i); /* the whole usable size is the program's */
    CHECK(stamped(p, u, (unsigned)i));
    free(p);
  }

  /* Alignment: what the cache serves (up to 64) and what it passes on. */
  static const size_t aligns[] = {16, 32, 64, 128, 4096, 65536, 2 * MiB};
  for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
    size_t a = aligns[i], n = 3 * MiB + 5;
    void *p = aligned_alloc(a, opaque(n));
    CHECK(p && (uintptr_t)p % a == 0 && malloc_usable_size(p) >= n);
    memset(p, 1, n);
    free(p);
    CHECK(posix_memalign(&p, a, opaque(n)) == 0 && (uintptr_t)p % a == 0);
    memset(p, 2, n);
    free(p);
    p = memalign(a, opaque(n));
    CHECK(p && (uintptr_t)p % a == 0);
    free(p);
  }

  /* calloc of a reused mapping: freed dirty, asked for again zeroed, at
   * the same size, smaller (a split) and larger (grown by mremap). */
  static const size_t again[] = {8 * MiB, 3 * MiB, 20 * MiB, 8 * MiB + 4096};
  for (size_t i = 0; i < sizeof again / sizeof *again; i++) {
    unsigned char *d = malloc(opaque(8 * MiB));
    CHECK(d);
    memset(d, 0xab, malloc_usable_size(d));
    free(d);
    unsigned char *z = calloc(1, opaque(again[i]));
    CHECK(z && all_zero(z, again[i]));
    free(z);
  }
  /* The cache does hand a freed mapping out again (else the test above
   * tests nothing): a free then a malloc of the same size reuse it. */
  void *a = malloc(opaque(6 * MiB));
  free(a);
  void *b = malloc(opaque(6 * MiB));
  CHECK(a == b);
  free(b);

  /* realloc: grow keeps the contents (in place or moved by mremap),
   * shrink stays in place, and crossing from mimalloc's sizes and from
   * the pools into large blocks keeps them too. */
  unsigned char *p = malloc(opaque(4 * MiB));
  CHECK(p);
  stamp(p, 4 * MiB, 7);
  p = realloc(p, opaque(64 * MiB));
  CHECK(p && stamped(p, 4 * MiB, 7) && malloc_usable_size(p) >= 64 * MiB);
  memset(p + 4 * MiB, 3, 60 * MiB);
  unsigned char *q = realloc(p, opaque(2 * MiB));
  CHECK(q == p && prefix_ok(q, 2 * MiB, 7) && malloc_usable_size(q) >= 2 * MiB);
  q = realloc(q, opaque(2 * MiB + 100));
  CHECK(q && prefix_ok(q, 2 * MiB, 7));
  free(q);
  for (size_t from = 1000; from <= 4 * MiB; from *= 8) {
    unsigned char *r = malloc(opaque(from));
    CHECK(r);
    stamp(r, from, 9);
    for (size_t to = from * 2; to <= 40 * MiB; to *= 3) {
      r = realloc(r, opaque(to));
      CHECK(r && stamped(r, from, 9) && malloc_usable_size(r) >= to);
    }
    free(r);
  }

  /* ENOMEM: past RAM + swap, past the address space, and realloc that
   * fails keeps the block. */
  struct sysinfo si;
  CHECK(sysinfo(&si) == 0);
  size_t total = ((size_t)si.totalram + si.totalswap) * si.mem_unit;
  size_t too_big[] = {total + 64 * MiB, SIZE_MAX / 2, SIZE_MAX - 4096};
  unsigned char *keep = malloc(opaque(2 * MiB));
  CHECK(keep);
  stamp(keep, 2 * MiB, 5);
  for (size_t i = 0; i < sizeof too_big / sizeof *too_big; i++) {
    errno = 0;
    CHECK(malloc(opaque(too_big[i])) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc(1, opaque(too_big[i])) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(realloc(keep, opaque(too_big[i])) == NULL && errno == ENOMEM);
    CHECK(stamped(keep, 2 * MiB, 5));
  }
  free(keep);
  /* free leaves errno alone */
  void *e = malloc(opaque(2 * MiB));
  errno = 1234;
  free(e);
  CHECK(errno == 1234);
}

/* ------------------------------------------------------------ double free */

/* A second free of a large block aborts with a message, whether its
 * mapping is still cached (the header says "freed") or was given back by
 * malloc_trim (its page is unmapped: reading the header would crash). Run
 * in a child so that the abort is what is checked. */
static void double_free_case(bool trim, const char *want) {
  int fd[2];
  CHECK(pipe(fd) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fd[1], 2);
    void *p = malloc(opaque(3 * MiB));
    free(p);
    if (trim) malloc_trim(0);
    free(p);
    _exit(0);
  }
  close(fd[1]);
  char buf[512] = {0};
  size_t got = 0;
  ssize_t k;
  while (got < sizeof buf - 1 && (k = read(fd[0], buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)k;
  close(fd[0]);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(buf, want))) {
    fprintf(stderr, "double free (%s) not caught: status %#x, stderr: %s\n",
            trim ? "after malloc_trim" : "cached", st, buf);
    exit(1);
  }
}

static void double_free(void) {
  double_free_case(false, "double free");
  double_free_case(true, "unmapped memory");
}

/* ------------------------------------------------------------ threads */

#define THREADS 8
#define SHARED 16
static _Atomic(unsigned char *) shared[SHARED]; /* blocks handed between threads */
static _Atomic int stop_hammer;

/* Blocks carry their length in their first word and a stamp derived from
 * it: whichever thread frees a block checks it, so a mapping handed out
 * twice or a lost realloc copy shows. */
static unsigned char *make(uint64_t *s, size_t *len) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  size_t n = MiB + (size_t)(*s >> 33) % (12 * MiB);
  int zeroed = (*s >> 20) & 1;
  unsigned char *p = zeroed ? calloc(1, n) : malloc(n);
  CHECK(p);
  if (zeroed) CHECK(all_zero(p, 4096) && p[n / 2] == 0 && p[n - 1] == 0);
  stamp(p, n, (unsigned)n);
  memcpy(p, &n, sizeof n);
  *len = n;
  return p;
}

static void check_and_free(unsigned char *p) {
  size_t n;
  memcpy(&n, p, sizeof n);
  CHECK(stamped(p, n, (unsigned)n));
  free(p);
}

static void *hammer(void *arg) {
  uint64_t s = (uintptr_t)arg * 7919 + 1;
  for (long i = 0; i < 400 && !atomic_load(&stop_hammer); i++) {
    size_t n;
    unsigned char *p = make(&s, &n);
    if (i % 3 == 0) { /* grow or shrink it: the contents stay */
      size_t m = n / 2 + (size_t)(s >> 40) % (2 * n);
      p = realloc(p, m);
      CHECK(p && prefix_ok(p, m < n ? m : n, (unsigned)n));
      free(p);
      continue;
    }
    /* hand it to whichever thread comes to this slot next */
    unsigned char *old = atomic_exchange(&shared[(s >> 13) % SHARED], p);
    if (old) check_and_free(old);
  }
  return NULL;
}

static void threads(void) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, hammer, (void *)i) == 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  for (int k = 0; k < SHARED; k++)
    if (atomic_load(&shared[k])) check_and_free(atomic_load(&shared[k]));
}

/* ------------------------------------------------------------ fork */

/* Forks while the cache holds mappings and while other threads allocate
 * and free large blocks: the child uses the cache as it finds it. */
static void fork_with_cache(void) {
  for (int i = 0; i < 6; i++) free(malloc(opaque((size_t)(i + 1) * 3 * MiB)));
  pthread_t t[2];
  for (long i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, hammer, (void *)(i + 100)) == 0);
  for (int round = 0; round < 8; round++) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      for (int i = 0; i < 12; i++) {
        size_t n = (size_t)(i % 7 + 1) * 2 * MiB;
        unsigned char *z = calloc(1, n);
        if (!z || !all_zero(z, n)) _exit(2);
        stamp(z, n, (unsigned)i);
        z = realloc(z, n + 5 * MiB);
        if (!z || !stamped(z, n, (unsigned)i)) _exit(3);
        free(z);
      }
      _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "fork child of round %d: status %#x\n", round, st);
      exit(1);
    }
  }
  atomic_store(&stop_hammer, 1);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------ decay, trim */

/* Freed large blocks stay resident for reuse (that is the point), then go
 * back: after TIERPOOL_LARGE_DECAY_MS (the test sets 100) at the next
 * large request, or at once on malloc_trim. */
static void give_back(int by_trim) {
  enum { N = 12 };
  long base = rss_kib();
  unsigned char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = malloc(opaque(5 * MiB));
    CHECK(p[i]);
    memset(p[i], 1, 5 * MiB);
  }
  for (int i = 0; i < N; i++) free(p[i]);
  long kept = rss_kib();
  /* TIERPOOL_LARGE_CACHE=256M here: all 60 MiB are kept */
  CHECK(kept - base > 50 * 1024);
  if (by_trim) {
    malloc_trim(0);
  } else {
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    free(malloc(opaque(2 * MiB))); /* any large request runs the decay */
  }
  long after = rss_kib();
  if (after - base > 8 * 1024) {
    fprintf(stderr, "RSS %ld KiB at start, %ld with the cache, %ld after %s\n", base, kept, after,
            by_trim ? "malloc_trim" : "the decay");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (!dlsym(RTLD_DEFAULT, "tierpool_stats")) {
    fprintf(stderr, "large_blocks: tierpool is not in the process (run it preloaded)\n");
    return 1;
  }
  const char *m = argc > 1 ? argv[1] : "";
  if (!strcmp(m, "contract")) contract();
  else if (!strcmp(m, "double_free")) double_free();
  else if (!strcmp(m, "threads")) threads();
  else if (!strcmp(m, "fork")) fork_with_cache();
  else if (!strcmp(m, "decay")) give_back(0);
  else if (!strcmp(m, "trim")) give_back(1);
  else {
    fprintf(stderr, "usage: large_blocks contract|double_free|threads|fork|decay|trim\n");
    return 2;
  }
  return 0;
}
