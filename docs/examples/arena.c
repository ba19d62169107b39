#include <assert.h>
#include <errno.h>
#include <tierpool_pools.h>

int main(void) {
  tierpool_arena_t *a;
  tierpool_arena_opts_t opts = {.name = "request", .limit = 1 << 20,
                                .flags = TIERPOOL_ARENA_RELEASE};
  assert(tierpool_arena_create(&a, &opts) == 0);
  for (int round = 0; round < 3; round++) {
    char *line = tierpool_arena_alloc(a, 100, 0);        /* 16-byte aligned */
    double *v = tierpool_arena_alloc(a, 64 * sizeof *v, 64);
    assert(line && v && (uintptr_t)v % 64 == 0);
    assert(!tierpool_arena_alloc(a, 2 << 20, 0) && errno == ENOMEM); /* past the limit */
    tierpool_arena_reset(a);                              /* everything at once */
  }
  tierpool_arena_stats_t st;
  tierpool_arena_stats(a, &st);
  assert(st.allocated == 0 && st.peak >= 100 + 512 && st.resets == 3);
  return tierpool_arena_destroy(a);
}
