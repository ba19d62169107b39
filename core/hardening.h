/* hardening.h - checks of the pointers given to free, and their reports
 * (hardening.c). A bad free is reported on stderr and aborts, like glibc. */
#ifndef TP_HARDENING_H
#define TP_HARDENING_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Reports a bad free of p (tier_size: the size of the tier it points
 * into, 0 if none) and aborts. Never allocates. */
void tp_report_bad_free(const char *what, const void *p, size_t tier_size) __attribute__((noreturn, cold));

/* Reports a pointer given to `what` that is no block of the pools, of
 * mimalloc or of large.c (with leak tracking, the stack of a block it
 * points into, if any) and aborts. */
void tp_report_foreign(const char *what, const void *p) __attribute__((noreturn, cold));

/* A pointer given to free or realloc that mimalloc's segment map does not
 * know: names it and aborts if it is a stack address, a static (inside a
 * loaded module) or a pointer whose would-be mimalloc segment header is
 * not mapped; returns when it may be a mimalloc block after all (mimalloc
 * 2.0.9 maps segments past 20 TiB, e.g. blocks over 1 GiB, outside its
 * map). what: "free" or "realloc". Never allocates; errno unchanged. */
void tp_check_foreign(const char *what, const void *p);

#pragma GCC visibility pop

#endif
