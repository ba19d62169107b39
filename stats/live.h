/* live.h - the live view: counters published in a shared-memory file that
 * `tierpool top PID` reads while the program runs (TIERPOOL_LIVE=1).
 *
 * The file is /dev/shm/tierpool.<pid>, mode 0600, made with O_NOFOLLOW and
 * removed at exit. It holds little-endian 64-bit words, refreshed every
 * second by the dump thread under a sequence lock: `seq` is odd while the
 * words change; a reader copies the words between two reads of an equal,
 * even `seq`.
 *
 * The layout is generated from the counters' one declaration
 * (include/tierpool.h) and describes itself: the fixed words below, one
 * word per process counter, then per tier one word per tier counter; after
 * them, a table of the words' names (NUL-terminated, the header's first,
 * an empty name, then a tier's). A reader takes the counts and the names
 * from the file and holds no copy of the list.
 */
#ifndef TP_STATS_LIVE_H
#define TP_STATS_LIVE_H

#include <stdint.h>

#include "fields.h"

#define TP_LIVE_MAGIC 0x31564c4c4f4f5054ull /* "TPOOLLV1" read as bytes */
#define TP_LIVE_VERSION 2
#define TP_LIVE_DIR "/dev/shm"

/* The fixed header words, then the process counters (TP_P_*). */
enum tp_live_word {
  TP_LIVE_W_MAGIC = 0,
  TP_LIVE_W_VERSION,       /* TP_LIVE_VERSION */
  TP_LIVE_W_SEQ,           /* odd while being written */
  TP_LIVE_W_HEADER_WORDS,  /* words before the first tier */
  TP_LIVE_W_TIER_WORDS,    /* words per tier */
  TP_LIVE_W_NAMES,         /* byte offset of the names table */
  TP_LIVE_W_NAMES_BYTES,   /* its length */
  TP_LIVE_W_PID,
  TP_LIVE_W_TIME_NS,       /* CLOCK_REALTIME of the last refresh */
  TP_LIVE_W_MONO_NS,       /* CLOCK_MONOTONIC of the last refresh (for rates) */
  TP_LIVE_W_NTIERS,
  TP_LIVE_W_UPDATES,       /* refreshes so far */
  TP_LIVE_FIXED_WORDS
};
#define TP_LIVE_HEADER_WORDS (TP_LIVE_FIXED_WORDS + TP_PROC_FIELDS)
/* Per tier: one word per tier counter (TP_F_*), in declaration order. */
#define TP_LIVE_TIER_WORDS TP_COL_FILL

/* Creates this process's file (once, from tp_stats_start). */
void tp_live_start(void);
/* Refreshes it (the dump thread, every second). */
void tp_live_publish(void);
/* In the fork child: drops the parent's mapping, makes the child's file. */
void tp_live_fork_child(void);
/* Removes the file (at exit). */
void tp_live_stop(void);

#endif
