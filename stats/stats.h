/* stats.h - the stats layer's hooks for the preload library. */
#ifndef TP_STATS_H
#define TP_STATS_H

/* Once, from the preload constructor: exit dump, signal, interval, live file. */
void tp_stats_start(void);
/* In the child after fork(). */
void tp_stats_fork_child(void);

#endif
