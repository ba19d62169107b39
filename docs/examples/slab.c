#include <assert.h>
#include <errno.h>
#include <tierpool_pools.h>

typedef struct { int fd; char peer[44]; } peer_t;

int main(void) {
  tierpool_slab_t *slab;
  tierpool_slab_opts_t opts = {.name = "peers", .size = sizeof(peer_t),
                               .limit = 100 * sizeof(peer_t)};   /* 100 slots at most */
  assert(tierpool_slab_create(&slab, &opts) == 0);
  peer_t *s[100];
  for (int i = 0; i < 100; i++) assert((s[i] = tierpool_slab_alloc(slab)));
  assert(!tierpool_slab_alloc(slab) && errno == ENOMEM);      /* the hard limit */
  tierpool_slab_free(slab, s[7]);
  assert(tierpool_slab_alloc(slab) == s[7]);                  /* a freed slot first */
  tierpool_slab_reset(slab);                                  /* all slots free again */
  tierpool_pool_stats_t counts;
  tierpool_slab_stats(slab, NULL, &counts);
  assert(counts.in_use == 0 && counts.gets == 101);
  return tierpool_slab_destroy(slab);
}
