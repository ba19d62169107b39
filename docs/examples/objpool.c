#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <tierpool_pools.h>

typedef struct { size_t len; char text[256]; } msg_t;

static int msg_init(void *o, void *arg) { (void)arg; memset(o, 0, sizeof(msg_t)); return 0; }
/* Keep short messages' objects; refuse (free) one that grew too long. */
static bool msg_reset(void *o, void *arg) {
  (void)arg;
  msg_t *m = o;
  bool keep = m->len < 200;
  m->len = 0;
  return keep;
}

int main(void) {
  tierpool_objpool_t *pool;
  tierpool_objpool_opts_t opts = {.name = "messages", .size = sizeof(msg_t),
                                  .init = msg_init, .reset = msg_reset};
  assert(tierpool_objpool_create(&pool, &opts) == 0);
  msg_t *m;
  assert(tierpool_objpool_acquire(pool, (void **)&m) == 0);
  m->len = (size_t)snprintf(m->text, sizeof m->text, "hello");
  tierpool_objpool_release(pool, m);               /* reset, kept for the next acquire */
  msg_t *again;
  assert(tierpool_objpool_acquire(pool, (void **)&again) == 0 && again == m);
  tierpool_objpool_release(pool, again);
  tierpool_pool_stats_t st;
  tierpool_objpool_stats(pool, &st);
  assert(st.gets == 2 && st.puts == 2 && st.created == 1);
  return tierpool_objpool_destroy(pool);
}
