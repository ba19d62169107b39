/* introspect.c - glibc's introspection calls with tierpool's numbers
 * (introspect.h). */
#include "introspect.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "fallback.h"
#include "out.h"
#include "snapshot.h"
#include "spin.h"

/* The snapshot is large (a few KiB): static, and guarded so that two
 * threads asking at once do not share it. */
static tierpool_stats_t tp_intro_snap;
static _Atomic int tp_intro_busy;

static void lock(void) { tp_spin_lock(&tp_intro_busy); }
static void unlock(void) { tp_spin_unlock(&tp_intro_busy); }

static void fill(const tierpool_stats_t *st, struct mallinfo2 *m) {
  memset(m, 0, sizeof *m);
  for (uint32_t t = 0; t < st->ntiers; t++) {
    const tierpool_tier_stats_t *ts = &st->tiers[t];
    uint64_t free_blocks = ts->cached + ts->central;
    m->arena += ts->committed_bytes;
    m->ordblks += free_blocks;
    m->fordblks += free_blocks * ts->size;
    if (ts->live > 0) m->uordblks += (uint64_t)ts->live * ts->size;
  }
  m->hblks = st->discarded > st->forwarded_frees ? st->discarded - st->forwarded_frees : 0;
  m->hblkhd = tp_fwd_committed();
  m->usmblks = st->peak_live_bytes;
}

void tp_mallinfo2(struct mallinfo2 *out) {
  lock();
  tp_stats_collect(&tp_intro_snap);
  fill(&tp_intro_snap, out);
  unlock();
}

/* "system bytes     = %10u" as glibc prints it. */
static void stat_line(tp_out_t *o, const char *label, uint64_t v) {
  char b[24];
  size_t n = tp_fmt_u64(b, v);
  tp_out_str(o, label);
  tp_out_str(o, " = ");
  tp_out_pad(o, ' ', n < 10 ? 10 - n : 0);
  tp_out_mem(o, b, n);
  tp_out_char(o, '\n');
}

void tp_malloc_stats(void) {
  struct mallinfo2 m;
  tp_mallinfo2(&m);
  char buf[512];
  tp_out_t o;
  tp_out_init(&o, buf, sizeof buf, STDERR_FILENO);
  /* One "arena": the pools; mimalloc's blocks are glibc's "mmap" part. */
  tp_out_str(&o, "Arena 0:\n");
  stat_line(&o, "system bytes    ", m.arena);
  stat_line(&o, "in use bytes    ", m.uordblks);
  tp_out_str(&o, "Total (incl. mmap):\n");
  stat_line(&o, "system bytes    ", m.arena + m.hblkhd);
  stat_line(&o, "in use bytes    ", m.uordblks + m.hblkhd);
  stat_line(&o, "max mmap regions", m.hblks);
  stat_line(&o, "max mmap bytes  ", m.hblkhd);
  tp_out_flush(&o);
}

int tp_malloc_info(int options, FILE *fp) {
  if (options != 0) return EINVAL; /* glibc's answer, returned, not set */
  struct mallinfo2 m;
  lock();
  tp_stats_collect(&tp_intro_snap);
  fill(&tp_intro_snap, &m);
  const tierpool_stats_t *st = &tp_intro_snap;
  fputs("<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", fp);
  /* glibc lists its free chunks by size class; ours are the tiers. */
  for (uint32_t t = 0; t < st->ntiers; t++) {
    const tierpool_tier_stats_t *ts = &st->tiers[t];
    uint64_t n = ts->cached + ts->central;
    if (!n) continue;
    fprintf(fp, "  <size from=\"%llu\" to=\"%llu\" total=\"%llu\" count=\"%llu\"/>\n",
            (unsigned long long)(t ? ts->size / 2 + 1 : 1), (unsigned long long)ts->size,
            (unsigned long long)(n * ts->size), (unsigned long long)n);
  }
  fputs("</sizes>\n", fp);
  for (int total = 0; total < 2; total++) {
    if (total) fputs("</heap>\n", fp);
    fprintf(fp, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", m.ordblks, m.fordblks);
    if (total) fprintf(fp, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", m.hblks, m.hblkhd);
    fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
                "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n",
            m.arena, m.arena, m.arena, m.arena);
  }
  fputs("</malloc>\n", fp);
  unlock();
  return 0;
}

/* glibc 2.36's answers (malloc.c, __libc_mallopt): every parameter,
 * known or not, is accepted (1) except a fastbin limit outside
 * 0..MAX_FAST_SIZE (0); an mmap threshold past its maximum is ignored and
 * still answered 1. None of them changes tierpool, which has neither
 * fastbins nor an mmap threshold. */
int tp_mallopt(int param, int value) {
  const size_t max_fast = 80 * sizeof(size_t) / 4;
  if (param == M_MXFAST) return value >= 0 && (size_t)value <= max_fast;
  return 1;
}
