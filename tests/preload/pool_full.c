/* A tier whose region is full forwards to mimalloc: with 64 MiB regions,
 * the 1 MiB tier holds 64 blocks; the rest of 100 live 1 MiB blocks must
 * still be served (counted as pool_full), usable, and freed. Run with
 * TIERPOOL_REGION_SIZE=64M. */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tierpool.h"
#include "tp_test.h"

int main(void) {
  int (*stats)(tierpool_stats_t *) = (int (*)(tierpool_stats_t *))dlsym(RTLD_DEFAULT, "tierpool_stats");
  CHECK(stats);
  enum { N = 100 };
  static char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = malloc(1 << 20);
    CHECK(p[i] != NULL);
    CHECK(malloc_usable_size(p[i]) >= (1 << 20));
    memset(p[i], i, 1 << 20);
  }
  tierpool_stats_t s;
  stats(&s);
  unsigned top = s.ntiers - 1;
  CHECK(s.tiers[top].size == (1 << 20));
  CHECK(s.tiers[top].live == 64);
  CHECK(s.discarded_by_reason[TIERPOOL_REASON_POOL_FULL] == N - 64);
  for (int i = 0; i < N; i++) {
    CHECK(p[i][0] == (char)i && p[i][(1 << 20) - 1] == (char)i);
    free(p[i]);
  }
  stats(&s);
  CHECK(s.tiers[top].live == 0);
  printf("pool full: 64 pooled, %d forwarded\n", N - 64);
  return 0;
}
