#include <assert.h>
#include <string.h>
#include <tierpool_pools.h>

typedef struct { unsigned version; unsigned routes[1024]; } table_t;

int main(void) {
  tierpool_swap_t *sw;
  tierpool_swap_opts_t opts = {.name = "routes", .size = sizeof(table_t)};
  assert(tierpool_swap_create(&sw, &opts) == 0);    /* current: a zeroed table */

  const table_t *old = tierpool_swap_acquire(sw);   /* a reader: never waits */

  table_t *next = tierpool_swap_write_begin(sw);    /* a writer: a fresh object */
  memcpy(next, old, sizeof *next);                  /* copy, then change */
  next->version = old->version + 1;
  next->routes[7] = 42;
  tierpool_swap_commit(sw, next);                   /* new readers see it now */

  const table_t *now = tierpool_swap_acquire(sw);
  assert(now->version == 1 && old->version == 0);   /* the old reader's view is intact */
  tierpool_swap_release(sw, old);                   /* its last reader: back to the pool */
  tierpool_swap_release(sw, now);
  return tierpool_swap_destroy(sw);
}
