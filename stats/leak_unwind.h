/* leak_unwind.h - the capture's own unwinder (see leak_unwind.c). */
#ifndef TP_STATS_LEAK_UNWIND_H
#define TP_STATS_LEAK_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Maps the table of frame shapes; false if the memory is refused. */
bool tp_unwind_init(void);
/* The return addresses of the caller's stack, innermost first, as
 * unw_backtrace gives them (its caller's return address first), at most
 * max; -1 when a frame has a shape this unwinder does not follow: ask
 * libunwind. Safe in any thread; never allocates. */
int tp_unwind(uintptr_t *ips, int max);

#pragma GCC visibility pop

#endif
