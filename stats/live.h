/* live.h - the live view: counters published in a shared-memory file that
 * `tierpool top PID` reads while the program runs (TIERPOOL_LIVE=1).
 *
 * The file is /dev/shm/tierpool.<pid>, mode 0600, made with O_NOFOLLOW and
 * removed at exit. It holds little-endian 64-bit words, refreshed every
 * second by the dump thread under a sequence lock: `seq` is odd while the
 * words change; a reader copies the words between two reads of an equal,
 * even `seq`. The layout below is also spelled out in scripts/tierpool
 * (LIVE_* constants): change both, and the layout version, together.
 */
#ifndef TP_STATS_LIVE_H
#define TP_STATS_LIVE_H

#include <stdint.h>

#define TP_LIVE_MAGIC 0x31564c4c4f4f5054ull /* "TPOOLLV1" read as bytes */
#define TP_LIVE_VERSION 1
#define TP_LIVE_DIR "/dev/shm"

/* Header words. */
enum tp_live_word {
  TP_LIVE_W_MAGIC = 0,
  TP_LIVE_W_VERSION,       /* TP_LIVE_VERSION */
  TP_LIVE_W_SEQ,           /* odd while being written */
  TP_LIVE_W_PID,
  TP_LIVE_W_TIME_NS,       /* CLOCK_REALTIME of the last refresh */
  TP_LIVE_W_MONO_NS,       /* CLOCK_MONOTONIC of the last refresh (for rates) */
  TP_LIVE_W_NTIERS,
  TP_LIVE_W_TOTAL_GET,
  TP_LIVE_W_TOTAL_PUT,
  TP_LIVE_W_DISCARDED,
  TP_LIVE_W_DISCARDED_BYTES,
  TP_LIVE_W_FORWARDED_FREES,
  TP_LIVE_W_THREADS_STARTED,
  TP_LIVE_W_THREADS_EXITED,
  TP_LIVE_W_FORK_LOST,
  TP_LIVE_W_UPDATES,       /* refreshes so far */
  TP_LIVE_HEADER_WORDS = 16
};

/* Per tier, after the header: TP_LIVE_TIER_WORDS words each. */
enum tp_live_tier_word {
  TP_LIVE_T_SIZE = 0, TP_LIVE_T_GET, TP_LIVE_T_PUT, TP_LIVE_T_LIVE, TP_LIVE_T_REQUESTED,
  TP_LIVE_T_CACHED, TP_LIVE_T_CENTRAL, TP_LIVE_T_CARVED, TP_LIVE_T_COMMITTED,
  TP_LIVE_TIER_WORDS = 10
};

/* Creates this process's file (once, from tp_stats_start). */
void tp_live_start(void);
/* Refreshes it (the dump thread, every second). */
void tp_live_publish(void);
/* In the fork child: drops the parent's mapping, makes the child's file. */
void tp_live_fork_child(void);
/* Removes the file (at exit). */
void tp_live_stop(void);

#endif
