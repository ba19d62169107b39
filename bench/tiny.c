/* tiny - a program that allocates a few small blocks, writes them and
 * exits: what it measures is the allocator's fixed cost, the peak RSS it
 * adds to a program that barely allocates (its libraries' pages, its
 * tables, the first pages of each size class it touches). glibc's is
 * about 1 MiB here, all of it the program and libc; issue 13's target for
 * tierpool is within 0.1 MiB of that ("memory kept").
 * -n is the blocks: sizes 16 B, 32 B, ... 2 KiB in turn. */
#include "bench.h"

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "tiny", 1, 8, "blocks");
  void *p[64];
  long n = a.size < 64 ? a.size : 64;
  uint64_t check = 0;
  double t0 = bench_now();
  for (long i = 0; i < n; i++) {
    size_t size = (size_t)16 << (i % 8);
    p[i] = bench_xmalloc(size);
    memset(p[i], (int)i, size);
    check += ((unsigned char *)p[i])[size / 2];
  }
  for (long i = 0; i < n; i++) free(p[i]);
  bench_report(&a, bench_now() - t0, (uint64_t)n, check, NULL);
  return 0;
}
