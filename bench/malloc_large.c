/* malloc_large - the shape of mimalloc-bench's malloc-large: 20 slots,
 * each step replaces a random slot by a new block of 5 to 25 MiB (uniform)
 * that is zero-filled whole, as C++'s make_unique<char[]>(n) does. The new
 * block is allocated before the old one is freed (unique_ptr assignment),
 * so up to 21 are live. Large blocks freed and asked for again at once:
 * what an allocator that unmaps at free pays in page faults.
 * -n is the steps (mimalloc-bench: 2000). Prints minflt=, the page faults. */
#include <sys/resource.h>

#include "bench.h"

#define SLOTS 20
#define MIN_SIZE ((size_t)5 << 20)
#define MAX_SIZE ((size_t)25 << 20)

/* Called through a volatile pointer so that no compiler folds malloc and
 * memset into calloc: operator new[] and the fill are two calls in C++. */
static void *(*volatile fill)(void *, int, size_t) = memset;

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "malloc_large", 1, 2000, "steps");
  bench_rng_t r = bench_rng(42);
  unsigned char *slot[SLOTS] = {0};
  uint64_t check = 0;
  double t0 = bench_now();
  for (long i = 0; i < a.size; i++) {
    int k = (int)bench_below(&r, SLOTS);
    size_t n = MIN_SIZE + (size_t)bench_below(&r, MAX_SIZE - MIN_SIZE + 1);
    unsigned char *p = bench_xmalloc(n);
    fill(p, 0, n);
    p[(size_t)i % n] = (unsigned char)i;
    check += p[n / 2] + p[(size_t)i % n];
    free(slot[k]);
    slot[k] = p;
  }
  for (int k = 0; k < SLOTS; k++) free(slot[k]);
  double secs = bench_now() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char extra[64];
  snprintf(extra, sizeof extra, "minflt=%ld", ru.ru_minflt);
  bench_report(&a, secs, (uint64_t)a.size, check, extra);
  return 0;
}
