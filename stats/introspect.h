/* introspect.h - glibc's introspection calls (mallinfo, mallinfo2,
 * malloc_stats, malloc_info, mallopt) answered with tierpool's numbers;
 * preload/introspect.c exports them under glibc's names.
 *
 * Mapping onto glibc's fields (docs/stats.md, "glibc's introspection"):
 *   arena     bytes of the tiers' regions made accessible (committed)
 *   ordblks   free blocks in the tiers (thread caches and central pools)
 *   smblks, fsmblks, keepcost   0: tierpool has no fastbins and no top chunk
 *   hblks     blocks past the tiers (mimalloc's, or large mappings) not freed yet
 *   hblkhd    bytes mimalloc has committed (its own count; the large blocks'
 *             own mappings are not in it yet)
 *   usmblks   the pools' peak live bytes (glibc keeps 0 there; this was its
 *             historical meaning, the high-water mark)
 *   uordblks  bytes of pooled blocks in use, at their tier size
 *   fordblks  bytes of the free pooled blocks
 */
#ifndef TP_STATS_INTROSPECT_H
#define TP_STATS_INTROSPECT_H

#include <malloc.h>
#include <stdio.h>

#pragma GCC visibility push(hidden)

void tp_mallinfo2(struct mallinfo2 *out);
/* malloc_stats: glibc's lines, on stderr, without allocating. */
void tp_malloc_stats(void);
/* malloc_info: glibc's XML, one <size> per tier; EINVAL unless options is 0. */
int tp_malloc_info(int options, FILE *fp);
/* mallopt: nothing applies to tierpool; accepted and ignored with the value
 * glibc would return (1, or 0 for what glibc itself rejects). */
int tp_mallopt(int param, int value);

#pragma GCC visibility pop

#endif
