/* sections.c - the table of extra dump sections (see sections.h): a fixed
 * array filled with compare-and-swap, read without a lock by dumps (which
 * may run in a signal handler). */
#include "sections.h"

#include <stdatomic.h>

#define TP_SECTIONS_MAX 8

static _Atomic(const tp_stats_section_t *) tp_sections[TP_SECTIONS_MAX];

int tp_stats_add_section(const tp_stats_section_t *s) {
  for (size_t i = 0; i < TP_SECTIONS_MAX; i++) {
    const tp_stats_section_t *cur = NULL;
    if (atomic_compare_exchange_strong(&tp_sections[i], &cur, s) || cur == s) return 0;
  }
  return -1;
}

const tp_stats_section_t *tp_stats_section_at(size_t i) {
  return i < TP_SECTIONS_MAX ? atomic_load_explicit(&tp_sections[i], memory_order_acquire) : NULL;
}

void tp_stats_render_sections(tp_emitter_t *e) {
  const tp_stats_section_t *s;
  for (size_t i = 0; (s = tp_stats_section_at(i)); i++) s->fn(e);
}
