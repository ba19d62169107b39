/* fragmentation - what is left of the heap after a program changes its
 * mind: allocate -n blocks of 16 B to 2 KiB, free a random 90% of them,
 * then allocate as many bytes again in blocks of 2 KiB to 16 KiB, which do
 * not fit the holes. Its figures are memory, not time: peak RSS (VmHWM),
 * RSS once the 90% are freed (what the allocator kept or gave back) and
 * final RSS (VmRSS with the last phase still live), printed as
 * peak_rss_kib=, freed_rss_kib= and final_rss_kib=. Single-threaded: -t is
 * ignored. */
#include "bench.h"

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "fragmentation", 1, 1000000, "small blocks");
  bench_rng_t r = bench_rng(8000);
  size_t n = (size_t)a.size;
  unsigned char **p = bench_xmalloc(sizeof *p * (n ? n : 1));
  size_t *idx = bench_xmalloc(sizeof *idx * (n ? n : 1));
  size_t *lens = bench_xmalloc(sizeof *lens * (n ? n : 1));
  uint64_t check = 0, small_bytes = 0, freed_bytes = 0, got = 0;
  double t0 = bench_now();
  for (size_t i = 0; i < n; i++) { /* phase 1: many small blocks */
    size_t len = bench_size(&r, 16, 2048);
    p[i] = bench_xmalloc(len);
    check += bench_touch(p[i], len, (unsigned)i);
    lens[i] = len;
    small_bytes += len;
    idx[i] = i;
  }
  for (size_t i = n; i > 1; i--) { /* phase 2: free a random 90% */
    size_t j = bench_below(&r, i), tmp = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = tmp;
  }
  size_t nfree = n - n / 10;
  for (size_t i = 0; i < nfree; i++) {
    unsigned char *q = p[idx[i]];
    check += q[0];
    freed_bytes += lens[idx[i]];
    free(q);
    p[idx[i]] = NULL;
  }
  long freed_rss = bench_status_kib("VmRSS");
  size_t cap = 1024, m = 0; /* phase 3: as many bytes again, larger blocks */
  unsigned char **big = bench_xmalloc(sizeof *big * cap);
  for (; got < freed_bytes; m++) {
    if (m == cap) {
      big = realloc(big, sizeof *big * (cap *= 2));
      if (!big) bench_die("realloc");
    }
    size_t len = bench_size(&r, 2049, 16384);
    big[m] = bench_xmalloc(len);
    check += bench_touch(big[m], len, (unsigned)m);
    got += len;
  }
  double secs = bench_now() - t0;
  char extra[160];
  snprintf(extra, sizeof extra, "peak_rss_kib=%ld freed_rss_kib=%ld final_rss_kib=%ld live_kib=%llu",
           bench_status_kib("VmHWM"), freed_rss, bench_status_kib("VmRSS"),
           (unsigned long long)((small_bytes - freed_bytes + got) >> 10));
  for (size_t i = 0; i < m; i++) free(big[i]);
  for (size_t i = 0; i < n; i++) free(p[i]);
  free(big);
  free(lens);
  free(idx);
  free(p);
  bench_report(&a, secs, n + m, check, extra);
  return 0;
}
