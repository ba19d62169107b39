/* sort.h - the one sort of tierpool: an in-place heap sort, for reports.
 * qsort may call malloc, which a report (run inside the allocator, or in a
 * signal handler) must not; a heap sort needs no memory and no recursion. */
#ifndef TP_SORT_H
#define TP_SORT_H

#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

/* "a sorts before b". */
typedef bool (*tp_less_fn)(const void *a, const void *b);

/* Sorts n elements of size bytes at base, ascending by less. Not stable. */
void tp_sort(void *base, size_t n, size_t size, tp_less_fn less);

#pragma GCC visibility pop

#endif
