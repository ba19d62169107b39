/* sections.c - the table of extra dump sections (see sections.h): a fixed
 * array filled with compare-and-swap, read without a lock by dumps (which
 * may run in a signal handler). */
#include "sections.h"

#include <stdatomic.h>
#include <stddef.h>

#define TP_SECTIONS_MAX 8

static struct {
  _Atomic(tp_stats_section_fn) fn;
  const char *name;
} tp_sections[TP_SECTIONS_MAX];

int tp_stats_add_section(const char *name, tp_stats_section_fn fn) {
  for (size_t i = 0; i < TP_SECTIONS_MAX; i++) {
    tp_stats_section_fn cur = NULL;
    if (atomic_compare_exchange_strong(&tp_sections[i].fn, &cur, fn)) {
      tp_sections[i].name = name;
      return 0;
    }
    if (cur == fn) return 0;
  }
  return -1;
}

void tp_stats_render_sections(tp_emitter_t *e) {
  for (size_t i = 0; i < TP_SECTIONS_MAX; i++) {
    tp_stats_section_fn fn = atomic_load_explicit(&tp_sections[i].fn, memory_order_acquire);
    if (!fn) break;
    fn(e);
  }
}
