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
 */
#include <pthread.h>

#include "common.h"

static void *free_in_thread(void *p) {
  free(p);
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
    /* Accepted: the next malloc would hand out a block never carved. */
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
  } else {
    fprintf(stderr, "bad_free: unknown mode %s\n", mode);
    return 2;
  }
  say("survived\n");
  return 0;
}
