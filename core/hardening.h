/* hardening.h - checks of the pointers given to free, and their reports
 * (hardening.c). A bad free is reported on stderr and aborts, like glibc. */
#ifndef TP_HARDENING_H
#define TP_HARDENING_H

#include "layout.h"

#pragma GCC visibility push(hidden)

/* Reports a bad free of p (tier: its tier, or TP_MAX_TIERS if it is not
 * pooled) and aborts. Never allocates. */
void tp_report_bad_free(const char *what, const void *p, unsigned tier) __attribute__((noreturn, cold));

#pragma GCC visibility pop

#endif
