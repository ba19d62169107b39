/* hardening.h - checks of the pointers given to free, and their reports
 * (hardening.c). A bad free is reported on stderr and aborts, like glibc. */
#ifndef TP_HARDENING_H
#define TP_HARDENING_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Reports a bad free of p (tier_size: the size of the tier it points
 * into, 0 if none) and aborts. Never allocates. */
void tp_report_bad_free(const char *what, const void *p, size_t tier_size) __attribute__((noreturn, cold));

#pragma GCC visibility pop

#endif
