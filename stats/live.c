/* live.c - the shared-memory file behind `tierpool top PID` (see live.h).
 *
 * One writer (the dump thread), any number of readers in other processes.
 * The writer never allocates and never blocks: the file is mapped once, and
 * each refresh is a snapshot copied word by word under the sequence lock.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "emit.h"
#include "snapshot.h"

#define TP_LIVE_WORDS (TP_LIVE_HEADER_WORDS + TIERPOOL_MAX_TIERS * TP_LIVE_TIER_WORDS)

/* The names of the words, as the file carries them after the words. */
#define TP_LIVE_NAME(type, field, kind, unit, label, metric, help) #field "\0"
static const char tp_live_names[] =
    "magic\0version\0seq\0header_words\0tier_words\0names\0names_bytes\0pid\0time_ns\0"
    "mono_ns\0ntiers\0updates\0" TIERPOOL_PROCESS_FIELDS(TP_LIVE_NAME) "\0"
    TIERPOOL_TIER_FIELDS(TP_LIVE_NAME);
#define TP_LIVE_BYTES (TP_LIVE_WORDS * sizeof(uint64_t) + sizeof tp_live_names)

TP_START_DATA static struct {
  _Atomic uint64_t *words; /* the mapping, NULL when there is no file */
  char path[64];           /* /dev/shm/tierpool.<pid> */
  uint64_t updates;
} tp_live;

static void live_path(char *buf) {
  static const char prefix[] = TP_LIVE_DIR "/tierpool.";
  memcpy(buf, prefix, sizeof prefix - 1);
  tp_fmt_u64(buf + sizeof prefix - 1, (uint64_t)getpid());
}

static void put(size_t i, uint64_t v) {
  atomic_store_explicit(&tp_live.words[i], v, memory_order_relaxed);
}

void tp_live_start(void) {
  size_t bytes = TP_LIVE_BYTES;
  live_path(tp_live.path);
  int fd = open(tp_live.path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP)
      tp_warn("TIERPOOL_LIVE: cannot create %s: a symbolic link is in the way; no live view",
              tp_live.path);
    else
      tp_warn_errno(errno, "TIERPOOL_LIVE: no live view: cannot create %s", tp_live.path);
    tp_live.path[0] = '\0';
    return;
  }
  void *p = MAP_FAILED;
  if (ftruncate(fd, (off_t)bytes) == 0)
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) {
    tp_warn_errno(err, "TIERPOOL_LIVE: no live view: cannot map %s", tp_live.path);
    unlink(tp_live.path);
    tp_live.path[0] = '\0';
    return;
  }
  tp_live.words = p;
  tp_live.updates = 0;
  memcpy((char *)p + TP_LIVE_WORDS * sizeof(uint64_t), tp_live_names, sizeof tp_live_names);
  put(TP_LIVE_W_VERSION, TP_LIVE_VERSION);
  put(TP_LIVE_W_HEADER_WORDS, TP_LIVE_HEADER_WORDS);
  put(TP_LIVE_W_TIER_WORDS, TP_LIVE_TIER_WORDS);
  put(TP_LIVE_W_NAMES, TP_LIVE_WORDS * sizeof(uint64_t));
  put(TP_LIVE_W_NAMES_BYTES, sizeof tp_live_names);
  put(TP_LIVE_W_PID, (uint64_t)getpid());
  put(TP_LIVE_W_SEQ, 0);
  /* magic last: a reader that sees it sees a complete header */
  atomic_store_explicit(&tp_live.words[TP_LIVE_W_MAGIC], TP_LIVE_MAGIC, memory_order_release);
}

void tp_live_publish(void) {
  if (!tp_live.words) return;
  tierpool_stats_t st;
  tp_stats_collect(&st);
  struct timespec rt, mono;
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);

  uint64_t seq = atomic_load_explicit(&tp_live.words[TP_LIVE_W_SEQ], memory_order_relaxed);
  put(TP_LIVE_W_SEQ, seq + 1); /* odd: writing */
  atomic_thread_fence(memory_order_release);
  put(TP_LIVE_W_TIME_NS, (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec);
  put(TP_LIVE_W_MONO_NS, (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec);
  uint32_t n = st.ntiers <= TIERPOOL_MAX_TIERS ? st.ntiers : TIERPOOL_MAX_TIERS;
  put(TP_LIVE_W_NTIERS, n);
  put(TP_LIVE_W_UPDATES, ++tp_live.updates);
  for (size_t f = 0; f < TP_PROC_FIELDS; f++) {
    tp_value_t v = tp_proc_value(&st, f);
    put(TP_LIVE_FIXED_WORDS + f, v.type == TP_V_I64 ? (uint64_t)v.i : v.u);
  }
  for (uint32_t t = 0; t < n; t++) {
    size_t w = TP_LIVE_HEADER_WORDS + (size_t)t * TP_LIVE_TIER_WORDS;
    for (size_t c = 0; c < TP_LIVE_TIER_WORDS; c++) {
      tp_value_t v = tp_tier_value(&st.tiers[t], c);
      put(w + c, v.type == TP_V_I64 ? (uint64_t)v.i : v.u); /* two's complement: live may be < 0 */
    }
  }
  atomic_thread_fence(memory_order_release);
  put(TP_LIVE_W_SEQ, seq + 2); /* even: consistent */
}

void tp_live_fork_child(void) {
  /* The mapping is the parent's file: writing it would corrupt the
   * parent's view. Drop it and make the child's own. */
  if (tp_live.words) munmap((void *)tp_live.words, TP_LIVE_BYTES);
  tp_live.words = NULL;
  tp_live_start();
}

void tp_live_stop(void) {
  if (tp_live.path[0]) unlink(tp_live.path);
  tp_live.path[0] = '\0';
}
