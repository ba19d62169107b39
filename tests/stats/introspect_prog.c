/* introspect_prog.c - prints what glibc's introspection calls answer, for
 * stats_tests.py (case introspect): run plain (glibc) and preloaded
 * (tierpool). Keeps 1000 blocks of 100 B and 20 of 3000 B live, frees
 * 500 more, forwards one block of 4 MiB.
 *
 *   mallinfo2 arena=N ordblks=N hblks=N hblkhd=N usmblks=N uordblks=N fordblks=N
 *   mallinfo arena=N uordblks=N
 *   mallopt PARAM VALUE -> R          (for a fixed list)
 *   malloc_info(1) -> R
 * then malloc_stats() on stderr and malloc_info(0) on stdout.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink;

int main(void) {
  static void *kept[1520];
  for (int i = 0; i < 1500; i++) sink = kept[i] = malloc(100);
  for (int i = 1000; i < 1500; i++) free(kept[i]);
  for (int i = 0; i < 20; i++) sink = kept[1500 + i] = malloc(3000);
  void *big = malloc(4 << 20);
  sink = big;

  struct mallinfo2 m = mallinfo2();
  printf("mallinfo2 arena=%zu ordblks=%zu hblks=%zu hblkhd=%zu usmblks=%zu uordblks=%zu "
         "fordblks=%zu\n", m.arena, m.ordblks, m.hblks, m.hblkhd, m.usmblks, m.uordblks,
         m.fordblks);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo m1 = mallinfo();
#pragma GCC diagnostic pop
  printf("mallinfo arena=%d uordblks=%d\n", m1.arena, m1.uordblks);
  static const struct { int param, value; } opts[] = {
      {M_MXFAST, 64}, {M_MXFAST, 161}, {M_MXFAST, -1}, {M_TRIM_THRESHOLD, 1 << 20},
      {M_TOP_PAD, 0}, {M_MMAP_THRESHOLD, 1 << 20}, {M_MMAP_THRESHOLD, 64 << 20},
      {M_MMAP_THRESHOLD, -1}, {M_MMAP_MAX, 0}, {M_ARENA_MAX, 2}, {M_ARENA_TEST, 1},
      {M_PERTURB, 0}, {M_CHECK_ACTION, 3}, {12345, 1}};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
    printf("mallopt %d %d -> %d\n", opts[i].param, opts[i].value,
           mallopt(opts[i].param, opts[i].value));
  printf("malloc_info(1) -> %d\n", malloc_info(1, stdout));
  fflush(stdout);
  malloc_stats();
  printf("XML\n");
  fflush(stdout);
  malloc_info(0, stdout);
  free(big);
  return 0;
}
