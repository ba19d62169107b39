/* os.h - the engine's one layer over the kernel's memory calls (mmap,
 * mprotect, madvise, munmap). None of them allocates. A failure leaves the
 * kernel's errno: callers on free() paths save and restore errno around
 * them (POSIX.1-2024: free leaves errno alone), once per batch, not once
 * per call. */
#ifndef TP_OS_H
#define TP_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

#define TP_PAGE_SIZE ((size_t)4096)
/* n rounded up to whole pages. */
#define TP_PAGE_UP(n) (((n) + TP_PAGE_SIZE - 1) & ~(TP_PAGE_SIZE - 1))
/* What one page table maps on x86-64: a window of the address space whose
 * first page touched costs the kernel a page table as well. */
#define TP_WINDOW ((size_t)2 << 20)

/* Address space only: PROT_NONE, MAP_NORESERVE. NULL when refused. */
void *tp_os_reserve(size_t bytes);
/* Makes the first access to a word of a lazily mapped table a write: a
 * read first maps the shared zero page and the write that follows copies
 * it, two page faults where one will do. For the rare inserts into big
 * hash tables (a sampled block, a stack in sample mode), which each land on
 * a page of their own. The word keeps its value. */
static inline void tp_os_touch_for_write(void *word) {
  __atomic_fetch_or((uintptr_t *)word, 0, __ATOMIC_RELAXED);
}

/* Readable, writable, zeroed pages. noreserve: no swap accounting (for
 * sparse side arrays). NULL when refused. */
void *tp_os_map(size_t bytes, bool noreserve);
/* bytes of them from a 2 MiB boundary (MAP_NORESERVE), in a mapping that
 * much larger, whose part before the boundary is never touched: tables a
 * process touches only at their start, which then share one page table
 * (the first page touched in a 2 MiB window costs one more). Never
 * unmapped. NULL when refused. */
void *tp_os_map_window(size_t bytes);
void tp_os_unmap(void *p, size_t bytes);
/* Copies up to max of the mappings tp_os_map made that are still mapped,
 * as [lo, hi) pairs (unsorted); returns how many. */
size_t tp_os_own(uintptr_t (*out)[2], size_t max);
/* Maps readable, writable, zeroed pages at exactly addr, only if nothing
 * is mapped there yet (MAP_FIXED_NOREPLACE); false when refused (no
 * memory, RLIMIT_AS, or something else already lives there). */
bool tp_os_map_at(void *addr, size_t bytes);
/* Whether the page at addr is mapped (mincore, which cannot fault). */
bool tp_os_is_mapped(void *addr);
/* Makes reserved pages readable and writable; false when refused. */
bool tp_os_commit(void *p, size_t bytes);
/* Gives the pages' memory back; they stay mapped and read as zero next.
 * False when refused. */
bool tp_os_discard(void *p, size_t bytes);

#pragma GCC visibility pop

#endif
