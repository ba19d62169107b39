/* bad_free: victims of bad frees, one per mode. Each prints the address it
 * is about to pass to free ("addr=0x..."), then frees it; the driver
 * (hardening_tests.py) expects SIGABRT and a tierpool line on stderr that
 * names the fault, that address and the tier.
 *
 *   bad_free double SIZE    free a SIZE-byte block twice in a row
 *   bad_free middle         free p+16 of a 64-byte block
 *   bad_free beyond K       free the 64-byte slot K blocks past the first
 *                           block: past the carve front, never handed out
 *   bad_free central        free 5000 blocks of 64 bytes (the thread's list
 *                           is handed to the central pool on the way), then
 *                           free one of the first ones again
 *   bad_free cross          a thread frees a block and exits (its cache goes
 *                           central); main frees the block again
 *   bad_free cross_live     a thread frees a block and waits (the block stays
 *                           in its cache); main frees the block again
 *   bad_free neighbour      free p+64 of a 64-byte block p, the tier's first:
 *                           its neighbour, carved with it, never handed out
 *   bad_free close          free p+4096 of a 64-byte block p (the tier's
 *                           first, so p+4096 lies at or below the carve
 *                           front, never handed out); then allocate until
 *                           the same address would come out twice
 *   bad_free stack          free the address of a local variable
 *   bad_free alloca         free a block from alloca
 *   bad_free static         free the address of a static variable
 *   bad_free foreign        free a pointer into an mmap whose 32 MiB-aligned
 *                           base (where mimalloc would look) is not mapped
 *   bad_free mapped         free a pointer into an mmap whose base is mapped,
 *                           in a process that never loaded mimalloc: no
 *                           check can say "not mimalloc's", but nothing is
 *   bad_free realloc_stack  realloc the address of a local variable
 *   bad_free huge           allocate, touch, realloc and free 1.5 GiB blocks
 *                           (outside mimalloc's segment map): must survive,
 *                           they are no foreign pointers
 */
#include <alloca.h>
#include <pthread.h>
#include <sys/mman.h>

#include "common.h"

static void *free_in_thread(void *p) {
  free(p);
  return NULL;
}

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static int done;

/* Frees p, says so, then stays alive (its cache with it) until the process ends. */
static void *free_and_wait(void *p) {
  free(p);
  pthread_mutex_lock(&gate);
  done = 1;
  pthread_cond_signal(&freed);
  pthread_mutex_unlock(&gate);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bad_free double SIZE|middle|beyond K|central|cross\n");
    return 2;
  }
  const char *mode = argv[1];
  if (!strcmp(mode, "double")) {
    size_t n = opaque(argc > 2 ? strtoull(argv[2], NULL, 0) : 64);
    char *p = malloc(n);
    CHECK(p);
    fill(p, n, 1);
    say("addr=%p\n", (void *)p);
    free(p);
    free(launder(p));
  } else if (!strcmp(mode, "middle")) {
    char *p = malloc(opaque(64));
    CHECK(p);
    say("addr=%p\n", (void *)(p + 16));
    free(p + 16);
  } else if (!strcmp(mode, "beyond")) {
    size_t k = argc > 2 ? strtoull(argv[2], NULL, 0) : 2000;
    char *p = malloc(opaque(64));
    CHECK(p);
    say("addr=%p\n", (void *)(p + 64 * k));
    free(p + 64 * k);
    /* Were it accepted, the next malloc would hand out a block never carved. */
    void *q = malloc(opaque(64));
    say("next=%p\n", q);
  } else if (!strcmp(mode, "central")) {
    enum { N = 5000 };
    static void *q[N];
    for (int i = 0; i < N; i++) CHECK((q[i] = malloc(opaque(64))) != NULL);
    for (int i = 0; i < N; i++) free(q[i]);
    say("addr=%p\n", q[7]);
    free(launder(q[7]));
  } else if (!strcmp(mode, "cross")) {
    void *p = malloc(opaque(64));
    CHECK(p);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_in_thread, p) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    say("addr=%p\n", p);
    free(launder(p));
  } else if (!strcmp(mode, "cross_live")) {
    void *p = malloc(opaque(64));
    CHECK(p);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_and_wait, p) == 0);
    pthread_mutex_lock(&gate);
    while (!done) pthread_cond_wait(&freed, &gate);
    pthread_mutex_unlock(&gate);
    say("addr=%p\n", p);
    free(launder(p));
  } else if (!strcmp(mode, "neighbour")) {
    char *p = malloc(opaque(64));
    CHECK(p);
    say("addr=%p\n", (void *)(p + 64));
    free(p + 64);
    say("survived\n");
  } else if (!strcmp(mode, "close")) {
    char *p = malloc(opaque(64));
    CHECK(p);
    say("addr=%p\n", (void *)(p + 4096));
    free(p + 4096);
    /* Accepted, the block would be handed out twice: find it. */
    enum { N = 4096 };
    static char *q[N];
    int seen = 0;
    for (int i = 0; i < N; i++) {
      CHECK((q[i] = malloc(opaque(64))) != NULL);
      seen += q[i] == p + 4096;
    }
    say("handed out %d times\n", seen);
  } else if (!strcmp(mode, "stack")) {
    volatile int local = 1;
    say("addr=%p\n", (void *)&local);
    free(launder((void *)&local));
  } else if (!strcmp(mode, "alloca")) {
    char *a = alloca(opaque(64));
    a[0] = 1;
    say("addr=%p\n", (void *)a);
    free(launder(a));
  } else if (!strcmp(mode, "static")) {
    static int stat = 1;
    say("addr=%p\n", (void *)&stat);
    free(launder(&stat));
  } else if (!strcmp(mode, "foreign")) {
    size_t seg = 32 * MiB;
    char *m = mmap(NULL, 3 * seg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    char *base = (char *)(((uintptr_t)m + seg - 1) & ~(uintptr_t)(seg - 1));
    CHECK(munmap(base, 4096) == 0); /* the would-be segment header */
    say("addr=%p\n", (void *)(base + 8192));
    free(launder(base + 8192));
  } else if (!strcmp(mode, "mapped")) {
    size_t seg = 32 * MiB;
    char *m = mmap(NULL, 3 * seg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    char *base = (char *)(((uintptr_t)m + seg - 1) & ~(uintptr_t)(seg - 1));
    base[0] = 1; /* a would-be segment header, mapped */
    say("addr=%p\n", (void *)(base + 8192));
    free(launder(base + 8192));
  } else if (!strcmp(mode, "realloc_stack")) {
    volatile int local = 1;
    say("addr=%p\n", (void *)&local);
    void *r = realloc(launder((void *)&local), opaque(100));
    say("realloc returned %p\n", r);
  } else if (!strcmp(mode, "huge")) {
    size_t n = 3 * (512 * MiB);
    char *p = malloc(opaque(n));
    CHECK(p);
    for (size_t i = 0; i < n; i += 64 * MiB) p[i] = 1; /* a few pages, not 1.5 GiB of RSS */
    free(p);
    char *q = realloc(malloc(opaque(n)), opaque(n + MiB));
    CHECK(q);
    free(q);
  } else {
    fprintf(stderr, "bad_free: unknown mode %s\n", mode);
    return 2;
  }
  say("survived\n");
  return 0;
}
