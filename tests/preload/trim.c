/* Memory goes back: about 1 GiB in the large tiers, written, freed and
 * trimmed, must leave the resident set most of the way down. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2) return -1;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(void) {
  enum { N = 2600 }; /* about 1 GiB */
  static void *p[N];
  size_t total = 0;
  long before = rss_kib();
  for (int i = 0; i < N; i++) {
    size_t n = (size_t)64 << 10 << (i % 5); /* 64 KiB .. 1 MiB */
    p[i] = malloc(n);
    if (!p[i]) { perror("malloc"); return 1; }
    memset(p[i], 1, n);
    total += n;
  }
  long peak = rss_kib();
  for (int i = 0; i < N; i++) free(p[i]);
  int r = malloc_trim(0);
  long after = rss_kib();
  long grown = peak - before, left = after - before;
  printf("allocated %zu MiB: rss +%ld MiB at peak, +%ld MiB after free+trim (malloc_trim=%d)\n",
         total >> 20, grown >> 10, left >> 10, r);
  if (grown < (long)(total >> 10) / 2) { fprintf(stderr, "the blocks were not resident?\n"); return 1; }
  if (left > grown / 5) { fprintf(stderr, "less than 80%% given back\n"); return 1; }
  return 0;
}
