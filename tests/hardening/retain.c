/* retain: memory goes back without malloc_trim. About 1 GiB in the tiers
 * of 64 KiB .. 1 MiB is written and freed, by a thread that then exits
 * (mode "thread") or by the main thread (mode "main"); the resident set is
 * measured at the peak and after the frees, with no malloc_trim. How much
 * stays is TIERPOOL_RETAIN's business (per tier, in the central pools);
 * the driver checks it. Then the memory is used again, content checked.
 * Prints "grown=KIB left=KIB".
 */
#include <pthread.h>

#include "common.h"

enum { N = 2600 }; /* about 1 GiB */
static void *blocks[N];
static long peak;

static size_t size_of(int i) { return (size_t)64 * KiB << (i % 5); }

static void *churn(void *arg) {
  (void)arg;
  for (int i = 0; i < N; i++) {
    blocks[i] = malloc(opaque(size_of(i)));
    CHECK(blocks[i]);
    memset(blocks[i], 1, size_of(i));
  }
  peak = rss_kib();
  for (int i = 0; i < N; i++) free(blocks[i]);
  return NULL;
}

int main(int argc, char **argv) {
  int threaded = argc > 1 && !strcmp(argv[1], "thread");
  long before = rss_kib();
  if (threaded) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, churn, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
  } else {
    churn(NULL);
  }
  long after = rss_kib();
  printf("grown=%ld left=%ld\n", peak - before, after - before);
  /* The pages given back are usable again. */
  for (int i = 0; i < N / 4; i++) {
    blocks[i] = malloc(opaque(size_of(i)));
    CHECK(blocks[i]);
    fill(blocks[i], size_of(i), (uint64_t)i);
  }
  for (int i = 0; i < N / 4; i++) {
    CHECK(check_fill(blocks[i], size_of(i), (uint64_t)i));
    free(blocks[i]);
  }
  return 0;
}
