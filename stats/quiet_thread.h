/* quiet_thread.h - a thread of tierpool's own (the dump thread, the one
 * that loads libunwind): detached, a small stack, every signal blocked
 * from its first instruction, so that it never runs a handler of the
 * program's. */
#ifndef TP_STATS_QUIET_THREAD_H
#define TP_STATS_QUIET_THREAD_H

#pragma GCC visibility push(hidden)

/* Starts fn(NULL) on such a thread; 0, or pthread_create's error. errno
 * is left as it was. */
int tp_quiet_thread_start(void *(*fn)(void *));

#pragma GCC visibility pop

#endif
