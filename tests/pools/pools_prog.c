/* pools_prog.c - a program that links tierpool and uses one pool of each
 * kind, for pools_tests.py: its dumps must show every named pool, and with
 * "keep" it leaves them alive for the exit dump. With "leak" it destroys
 * the pools but loses one buffer and one pooled object, which `tierpool check`
 * must charge to the functions that took them (leak_a_buffer,
 * leak_an_object: the object was recycled from the pool's idle store, so
 * the charge moved from its maker, warm_up, to its last acquirer). */
#include <stdio.h>
#include <string.h>

#include <tierpool_pools.h>

#include "tp_test.h"

static tierpool_objpool_t *objs;

__attribute__((noinline)) static void warm_up(void) {
  void *o;
  tierpool_objpool_acquire(objs, &o);
  tierpool_objpool_release(objs, o);
}

__attribute__((noinline)) static void leak_a_buffer(void) {
  char *volatile b = tierpool_buf_get(300, NULL);
  b[0] = 1;
}

__attribute__((noinline)) static void leak_an_object(void) {
  void *volatile o;
  tierpool_objpool_acquire(objs, (void **)&o);
}

/* "huge": two huge-page arenas; without huge pages, one warning in all. */
static int huge_arenas(void) {
  tierpool_arena_opts_t o = {.name = "huge", .limit = 4 << 20, .flags = TIERPOOL_ARENA_HUGE};
  for (int i = 0; i < 2; i++) {
    tierpool_arena_t *a;
    tierpool_arena_stats_t st;
    if (tierpool_arena_create(&a, &o)) return 1;
    memset(tierpool_arena_alloc(a, 3 << 20, 0), 1, 3 << 20);
    tierpool_arena_stats(a, &st);
    printf("huge=%d\n", (int)st.huge);
    tierpool_arena_destroy(a);
  }
  return 0;
}

/* "others": more object pools than the registry has named slots (255);
 * the rest share the "(others)" row. Kept alive for the exit dump. */
static int many_pools(void) {
  for (int i = 0; i < 260; i++) {
    char name[16];
    snprintf(name, sizeof name, "many%d", i);
    tierpool_objpool_opts_t o = {.name = name, .size = 64};
    tierpool_objpool_t *p;
    void *obj;
    if (tierpool_objpool_create(&p, &o) || tierpool_objpool_acquire(p, &obj)) return 1;
    tierpool_objpool_release(p, obj);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "huge")) return huge_arenas();
  if (argc > 1 && !strcmp(argv[1], "others")) return many_pools();
  tierpool_objpool_opts_t oo = {.name = "messages", .size = 200};
  tierpool_bounded_opts_t bo = {.name = "connections", .count = 4, .size = 64};
  tierpool_swap_opts_t so = {.name = "routes", .size = 4096};
  tierpool_arena_opts_t ao = {.name = "request", .limit = 1 << 20};
  tierpool_slab_opts_t lo = {.name = "peers", .size = 48, .limit = 1 << 16};
  tierpool_bounded_t *conns;
  tierpool_swap_t *routes;
  tierpool_arena_t *arena;
  tierpool_slab_t *slab;
  if (tierpool_objpool_create(&objs, &oo) || tierpool_bounded_create(&conns, &bo) ||
      tierpool_swap_create(&routes, &so) || tierpool_arena_create(&arena, &ao) ||
      tierpool_slab_create(&slab, &lo))
    return 1;
  warm_up();
  for (int i = 0; i < 10; i++) {
    void *c, *b = tierpool_buf_get(100, NULL);
    tierpool_bounded_acquire(conns, &c, NULL, NULL);
    const void *r = tierpool_swap_acquire(routes);
    void *w = tierpool_swap_write_begin(routes);
    memset(w, i, 4096);
    tierpool_swap_commit(routes, w);
    tierpool_swap_release(routes, r);
    tierpool_arena_alloc(arena, 1000, 0);
    tierpool_slab_free(slab, tierpool_slab_alloc(slab));
    tierpool_bounded_release(conns, c);
    tierpool_buf_put(b);
  }
  if (argc > 1 && !strcmp(argv[1], "leak")) {
    leak_a_buffer();
    leak_an_object();
    wipe_stack();
  }
  puts("done");
  if (argc > 1 && !strcmp(argv[1], "keep")) return 0; /* for the exit dump */
  return tierpool_objpool_destroy(objs) || tierpool_bounded_destroy(conns) ||
         tierpool_swap_destroy(routes) || tierpool_arena_destroy(arena) ||
         tierpool_slab_destroy(slab);
}
