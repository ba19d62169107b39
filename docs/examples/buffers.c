#include <assert.h>
#include <string.h>
#include <tierpool_pools.h>

/* A consumer that knows nothing of tierpool: it frees with what it is given. */
static void consume(char *bytes, tierpool_release_fn release) { release(bytes); }

int main(void) {
  size_t cap;
  char *buf = tierpool_buf_get(1000, &cap);        /* a 1 KiB tier block, count 1 */
  assert(buf && cap == 1024);
  strcpy(buf, "shared");
  tierpool_buf_retain(buf);                        /* a second owner: count 2 */
  consume(buf, tierpool_buf_hand_out(buf));        /* retain-and-hand-out, released there */
  tierpool_buf_release(buf);                       /* count 1 */
  assert(tierpool_buf_refs(buf) == 1);
  tierpool_buf_put(buf);                           /* the last owner: back to its tier */

  uint64_t sizes[28], lengths[8];
  assert(tierpool_tiers_in_use(sizes, 28) >= 1);   /* the 1 KiB tier, at least */
  assert(tierpool_recent_lengths(lengths, 8) >= 1);
  return tierpool_buf_get(0, NULL) == NULL ? 0 : 1; /* size 0: EINVAL */
}
