/* leak_report.c - the leak report: which stacks still hold blocks, most
 * bytes first, in the dumps (text, JSON, two Prometheus gauges), at exit
 * and through tierpool_leaks_since; and the stack that allocated a block
 * freed badly.
 *
 * A report gathers the stacks of the periods asked for whose live count is
 * above zero into a scratch array (mmap'd once), merges the entries of one
 * stack captured in different periods, sorts them by bytes and writes the
 * first TIERPOOL_LEAKS_TOP. It reads counters lock-free and never calls
 * malloc, so a signal dump may include it. The scratch array has one user
 * at a time, guarded like the dump buffers by the holder's thread id.
 */
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "os.h"
#include "options.h"
#include "central.h"
#include "layout.h"
#include "leak_int.h"
#include "leak_world.h"
#include "sort.h"
#include "render.h"

/* One stack in a report (several table entries when it ran in several
 * periods). */
typedef struct tp_leak_row_s {
  uint64_t fhash;  /* merges the periods */
  int64_t live;    /* blocks charged (samples, in sample mode) */
  int64_t count;   /* x count_scale */
  int64_t bytes;
  uint64_t tiers;
  uint32_t id;     /* the entry whose frames are shown */
  uint32_t kind;   /* enum tp_leak_kind */
} tp_leak_row_t;

/* A stack has up to three rows, one per kind. */
#define TP_LEAK_MAX_ROWS (3 * (size_t)TP_LEAK_MAX_STACKS)
TP_HOOKED_DATA static tp_leak_row_t *tp_rows;   /* [TP_LEAK_MAX_ROWS] */
TP_HOOKED_DATA static _Atomic long tp_report_owner;

/* A stack's live blocks, count (x count_scale) and bytes, counted by the
 * report when the hooks keep no running figures (leak.c's counting). */
typedef struct tp_live_acc_s {
  int64_t live, count, bytes;
} tp_live_acc_t;
TP_HOOKED_DATA static tp_live_acc_t *tp_live; /* [TP_LEAK_MAX_STACKS] */

bool tp_leak_report_init(void) {
  tp_rows = tp_os_map(sizeof(tp_leak_row_t) * TP_LEAK_MAX_ROWS, true);
  tp_live = tp_os_map(sizeof(tp_live_acc_t) * TP_LEAK_MAX_STACKS, true);
  return tp_rows != NULL && tp_live != NULL;
}

bool tp_leak_report_acquire(void) {
  long self = syscall(SYS_gettid);
  for (int waited = 0;; waited++) {
    long expect = 0;
    if (atomic_compare_exchange_strong(&tp_report_owner, &expect, self)) return true;
    if (expect == self || waited >= 5000) return false;
    struct timespec ts = {0, 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  }
}

void tp_leak_report_release(void) { atomic_store(&tp_report_owner, 0); }

void tp_leak_report_fork_child(void) { atomic_store(&tp_report_owner, 0); }

/* ------------------------------------------------------------ gather */

static bool by_hash(const void *pa, const void *pb) {
  const tp_leak_row_t *a = pa, *b = pb;
  if (a->fhash != b->fhash) return a->fhash < b->fhash;
  if (a->kind != b->kind) return a->kind < b->kind;
  return a->id < b->id;
}

/* Direct first, then indirect, then reachable (then unknown); in a kind,
 * most bytes first, then most blocks, then the older stack. */
static bool by_bytes(const void *pa, const void *pb) {
  const tp_leak_row_t *a = pa, *b = pb;
  if (a->kind != b->kind) return a->kind < b->kind;
  if (a->bytes != b->bytes) return a->bytes > b->bytes;
  if (a->count != b->count) return a->count > b->count;
  return a->id < b->id;
}

/* Adds one row of the stack id and this kind (both figures from the scan,
 * or from the stack's counters when there was none). */
static void add_row(size_t *n, uint32_t id, unsigned kind, int64_t live, int64_t count,
                    int64_t bytes, uint64_t tiers) {
  tp_leak_row_t *r = &tp_rows[(*n)++];
  r->fhash = id == TP_STACK_OVERFLOW ? 0 : tp_leak_tab.stacks[id].fhash;
  r->live = live;
  r->count = count;
  r->bytes = bytes;
  r->tiers = tiers;
  r->id = id;
  r->kind = kind;
}

/* Without a profile, neither mode keeps live counts per stack as blocks
 * come and go (see charge in leak.c): a report without a scan counts them
 * here (with their weights when sampled), from the
 * side arrays over each tier's carved part and the forwarded table, where
 * the hooks keep which stack holds each block. The other threads run on:
 * a block got or put meanwhile may count or not, as with counters read
 * lock-free; a dump takes no lock the hooks take, so a forwarded entry
 * being written can be read half old. */
static void count_one(uint64_t id, int64_t n, uint32_t nstacks) {
  if (id == TP_STACK_NONE || id >= nstacks) return;
  int64_t count, bytes;
  tp_leak_weights((uint64_t)n, &count, &bytes);
  tp_live[id].live++;
  tp_live[id].count += count;
  tp_live[id].bytes += bytes;
}

/* Reads the side arrays and the forwarded table only on pages that were
 * ever written (tp_resident, as the scan does): the rest are zeros, and
 * reading them would fault them in (the forwarded table alone is 24 MiB). */
static void count_fwd(const tp_fwd_t *e, void *nstacks) {
  count_one(e->id, (int64_t)e->n, *(uint32_t *)nstacks);
}

static void count_live(uint32_t nstacks) {
  const uint64_t per_page = TP_PAGE_SIZE / sizeof(uint64_t);
  memset(tp_live, 0, sizeof(tp_live_acc_t) * nstacks);
  for (unsigned t = 0; t < tp_layout.ntiers && tp_layout.span; t++) {
    const _Atomic uint64_t *side = (const _Atomic uint64_t *)tp_lk.side[t];
    uint64_t blocks = atomic_load_explicit(&tp_central[t].carve, memory_order_acquire) >>
                      (t + TP_MIN_SHIFT);
    if (!side || !blocks) continue;
    tp_resident_t r;
    tp_resident_init(&r, side, blocks * sizeof(uint64_t));
    for (uint64_t i0 = 0; i0 < blocks; i0 += per_page) {
      if (!tp_resident(&r, (uintptr_t)&side[i0])) continue;
      for (uint64_t i = i0; i < i0 + per_page && i < blocks; i++) {
        uint64_t v = atomic_load_explicit(&side[i], memory_order_relaxed);
        if (tp_side_charged(v)) count_one(v >> 32, (int64_t)(v & 0xffffffffu), nstacks);
      }
    }
  }
  tp_leak_fwd_each(count_fwd, &nstacks);
}

/* Fills tp_rows with the stacks of periods >= from still holding blocks, a
 * row per stack and kind, sorted direct first, then indirect, then still
 * reachable, each most bytes first; returns how many. settle: first give
 * back the charges of blocks freed without the put hook (tp_leak_settle);
 * scan: then tell leaked from reachable blocks (tp_leak_scan). */
static size_t gather(uint32_t from, tp_leak_sum_t *sum, bool settle, bool scan) {
  const tp_leak_tab_t *t = &tp_leak_tab;
  if (settle) tp_leak_settle();
  bool kinds = scan && tp_leak_scan();
  if (!scan) tp_scan_info.done = false;
  uint32_t nstacks = atomic_load_explicit(&t->nstacks, memory_order_acquire);
  if (nstacks > TP_LEAK_MAX_STACKS) nstacks = TP_LEAK_MAX_STACKS;
  bool counted = !kinds && (tp_leak_mode == TP_LEAKS_ALL || !tp_lk.counting);
  if (counted) count_live(nstacks);
  size_t n = 0;
  /* After a scan, only the stacks it accounted a block to: the rest of its
   * table was never written (pages that reading would fault in). */
  uint32_t hi = kinds && tp_scan_info.acc_hi < nstacks ? tp_scan_info.acc_hi : nstacks;
  for (uint32_t id = TP_STACK_OVERFLOW; id < hi; id++) {
    tp_stack_t *s = &t->stacks[id];
    if (!s->key || s->epoch < from) continue;
    uint64_t tiers = atomic_load_explicit(&t->tiers[id], memory_order_relaxed);
    if (kinds) {
      const tp_kind_acc_t *a = &tp_scan_acc[id];
      for (unsigned k = 0; k < TP_KIND_UNKNOWN; k++)
        if (a->live[k] > 0) add_row(&n, id, k, a->live[k], a->count[k], a->bytes[k], tiers);
      continue;
    }
    if (counted) {
      if (tp_live[id].live > 0)
        add_row(&n, id, TP_KIND_UNKNOWN, tp_live[id].live, tp_live[id].count, tp_live[id].bytes, tiers);
      continue;
    }
    int64_t live = atomic_load_explicit(&s->live, memory_order_relaxed);
    if (live <= 0) continue;
    add_row(&n, id, TP_KIND_UNKNOWN, live, atomic_load_explicit(&s->count, memory_order_relaxed),
            atomic_load_explicit(&s->bytes, memory_order_relaxed), tiers);
  }
  /* One row per stack and kind, whatever the periods it ran in. */
  tp_sort(tp_rows, n, sizeof *tp_rows, by_hash);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (k && tp_rows[k - 1].fhash == tp_rows[i].fhash && tp_rows[k - 1].kind == tp_rows[i].kind &&
        t->stacks[tp_rows[k - 1].id].depth == t->stacks[tp_rows[i].id].depth) {
      tp_leak_row_t *r = &tp_rows[k - 1];
      r->live += tp_rows[i].live;
      r->count += tp_rows[i].count;
      r->bytes += tp_rows[i].bytes;
      r->tiers |= tp_rows[i].tiers;
    } else {
      tp_rows[k++] = tp_rows[i];
    }
  }
  tp_sort(tp_rows, k, sizeof *tp_rows, by_bytes);
  /* tp_sort is ascending by "less", and by_bytes says "more bytes" is
   * less: the array is now direct first, most bytes first. */
  memset(sum, 0, sizeof *sum);
  sum->stacks = k;
  for (size_t i = 0; i < k; i++) {
    uint64_t blocks = (uint64_t)(tp_rows[i].count + t->count_scale / 2) / (uint64_t)t->count_scale;
    uint64_t bytes = (uint64_t)(tp_rows[i].bytes > 0 ? tp_rows[i].bytes : 0);
    sum->blocks += blocks;
    sum->bytes += bytes;
    sum->kind_stacks[tp_rows[i].kind]++;
    sum->kind_blocks[tp_rows[i].kind] += blocks;
    sum->kind_bytes[tp_rows[i].kind] += bytes;
  }
  return k;
}

static uint64_t row_blocks(const tp_leak_row_t *r) {
  int64_t c = r->count > 0 ? r->count : 0;
  return (uint64_t)(c + tp_leak_tab.count_scale / 2) / (uint64_t)tp_leak_tab.count_scale;
}

/* ------------------------------------------------------------ frames */

typedef struct tp_frame_s {
  const char *module;   /* NULL: the address is in no known module */
  uint64_t offset;      /* from the module's load bias (its link-time address), or the address */
  const char *function; /* NULL: unknown */
  uint64_t fn_offset;
} tp_frame_t;

static void frame_of(const tp_stack_t *s, unsigned i, tp_frame_t *f) {
  tp_leak_tab_t *t = &tp_leak_tab;
  uintptr_t ip = t->ips[s->frame0 + i];
  unsigned m = t->mods[s->frame0 + i];
  f->module = NULL;
  f->offset = ip;
  f->function = NULL;
  f->fn_offset = 0;
  if (m >= atomic_load_explicit(&t->nmodules, memory_order_acquire)) return;
  tp_module_t *mod = &t->modules[m];
  f->module = tp_module_path(mod);
  f->offset = ip - mod->base;
  /* A return address may lie just past its function (a call to a
   * noreturn function ends it): look up the call instruction. */
  uint64_t off;
  if (f->offset && tp_elf_lookup(mod, f->offset - 1, &f->function, &off)) f->fn_offset = off + 1;
}

static void out_hex(tp_out_t *o, uint64_t v) {
  char b[20];
  size_t n = 0;
  do {
    b[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  tp_out_str(o, "0x");
  while (n) tp_out_char(o, b[--n]);
}

static void text_frame(tp_out_t *o, const tp_frame_t *f, unsigned i) {
  tp_out_str(o, "    #");
  tp_out_u64(o, i);
  tp_out_char(o, ' ');
  if (!f->module) {
    out_hex(o, f->offset);
    tp_out_char(o, '\n');
    return;
  }
  if (f->function) {
    tp_out_str(o, f->function);
    tp_out_char(o, '+');
    out_hex(o, f->fn_offset);
  } else {
    tp_out_str(o, "??");
  }
  tp_out_str(o, " (");
  tp_out_str(o, f->module);
  tp_out_char(o, '+');
  out_hex(o, f->offset);
  tp_out_str(o, ")\n");
}

static void text_tiers(tp_out_t *o, uint64_t tiers) {
  char b[24];
  unsigned n = (unsigned)__builtin_popcountll(tiers & ~(1ull << TP_LEAK_FWD_BIT));
  const char *sep = n == 1 ? "tier " : "tiers ";
  for (unsigned t = 0; t < TP_MAX_TIERS; t++) {
    if (!(tiers >> t & 1)) continue;
    tp_out_str(o, sep);
    tp_out_mem(o, b, tp_fmt_size(b, tp_tier_size(t)));
    sep = ", ";
  }
  if (tiers >> TP_LEAK_FWD_BIT & 1) tp_out_str(o, n ? " and forwarded" : "forwarded");
}

/* ------------------------------------------------------------ text */

static const char *const tp_kind_names[TP_KINDS] = {"direct", "indirect", "reachable", "unknown"};
static const char *const tp_kind_titles[TP_KINDS] = {
    "direct leaks (no pointer to them is left):\n",
    "indirect leaks (pointed to only by leaked blocks):\n",
    "still reachable (a pointer to them is left: not leaks):\n", ""};

/* "N blocks (B bytes)", with ~ before estimates. */
static void text_blocks(tp_out_t *o, uint64_t blocks, uint64_t bytes, const char *about) {
  tp_out_str(o, about);
  tp_out_u64(o, blocks);
  tp_out_str(o, blocks == 1 ? " block (" : " blocks (");
  tp_out_str(o, about);
  tp_out_u64(o, bytes);
  tp_out_str(o, " bytes)");
}

static void text_row(tp_out_t *o, const tp_leak_row_t *r, const char *about, bool est) {
  const tp_stack_t *s = &tp_leak_tab.stacks[r->id];
  uint64_t blocks = row_blocks(r);
  tp_out_str(o, "  ");
  tp_out_str(o, about);
  tp_out_u64(o, (uint64_t)(r->bytes > 0 ? r->bytes : 0));
  tp_out_str(o, " bytes in ");
  tp_out_str(o, about);
  tp_out_u64(o, blocks);
  tp_out_str(o, blocks == 1 ? " block (" : " blocks (");
  if (est) {
    tp_out_u64(o, (uint64_t)r->live);
    tp_out_str(o, r->live == 1 ? " sample, " : " samples, ");
  }
  text_tiers(o, r->tiers);
  if (r->id == TP_STACK_OVERFLOW) {
    tp_out_str(o, ") from stacks past the table's capacity\n");
    return;
  }
  tp_out_str(o, ") allocated from:\n");
  for (unsigned f = 0; f < s->depth; f++) {
    tp_frame_t fr;
    frame_of(s, f, &fr);
    text_frame(o, &fr, f);
  }
  if (!s->depth) tp_out_str(o, "    (no frames)\n");
}

static void text_report(tp_out_t *o, size_t n, const tp_leak_sum_t *sum, uint64_t top) {
  bool est = tp_leak_mode == TP_LEAKS_SAMPLE;
  const char *about = est ? "~" : "";
  if (!n) {
    tp_out_str(o, "leaks: none: every tracked get has its put\n");
    return;
  }
  tp_out_str(o, est ? "leaks (sampled: estimates): " : "leaks: ");
  tp_out_u64(o, sum->stacks);
  tp_out_str(o, sum->stacks == 1 ? " stack holds " : " stacks hold ");
  text_blocks(o, sum->blocks, sum->bytes, about);
  if (tp_scan_info.done) {
    tp_out_str(o, " not freed: ");
    static const char *const what[3] = {" leaked directly, ", " indirectly, ", " still reachable"};
    for (unsigned k = 0; k < TP_KIND_UNKNOWN; k++) {
      text_blocks(o, sum->kind_blocks[k], sum->kind_bytes[k], about);
      tp_out_str(o, what[k]);
    }
    tp_out_str(o, "; direct first:\n");
  } else {
    tp_out_str(o, " not freed, most bytes first:\n");
  }
  size_t shown = top && top < n ? (size_t)top : n;
  unsigned kind = TP_KINDS;
  for (size_t i = 0; i < shown; i++) {
    if (tp_rows[i].kind != kind) tp_out_str(o, tp_kind_titles[kind = tp_rows[i].kind]);
    text_row(o, &tp_rows[i], about, est);
  }
  if (shown < n) {
    uint64_t blocks = 0, bytes = 0;
    for (size_t i = shown; i < n; i++) {
      blocks += row_blocks(&tp_rows[i]);
      bytes += (uint64_t)(tp_rows[i].bytes > 0 ? tp_rows[i].bytes : 0);
    }
    tp_out_str(o, "  ... and ");
    tp_out_u64(o, n - shown);
    tp_out_str(o, n - shown == 1 ? " more stack (" : " more stacks (");
    tp_out_str(o, about);
    tp_out_u64(o, blocks);
    tp_out_str(o, " blocks, ");
    tp_out_str(o, about);
    tp_out_u64(o, bytes);
    tp_out_str(o, " bytes); TIERPOOL_LEAKS_TOP=0 shows every stack\n");
  }
  uint64_t dropped = atomic_load_explicit(&tp_leak_tab.dropped, memory_order_relaxed);
  if (dropped) {
    tp_out_str(o, "  (");
    tp_out_u64(o, dropped);
    tp_out_str(o, " forwarded blocks were not tracked: the table of forwarded blocks was full)\n");
  }
}

/* Writes title and the frames of stack id to stderr. */
static void print_stack(uint32_t id, const char *title) {
  if (!tp_leak_mode || id >= atomic_load(&tp_leak_tab.nstacks) || !tp_leak_report_acquire()) return;
  static char buf[8192]; /* report lock held */
  tp_out_t o;
  tp_out_init(&o, buf, sizeof buf, STDERR_FILENO);
  tp_out_str(&o, title);
  const tp_stack_t *s = &tp_leak_tab.stacks[id];
  for (unsigned f = 0; f < s->depth; f++) {
    tp_frame_t fr;
    frame_of(s, f, &fr);
    text_frame(&o, &fr, f);
  }
  tp_out_flush(&o);
  tp_leak_report_release();
}

/* A pooled block keeps its allocation stack after its put (TP_SIDE_FREED),
 * and with TIERPOOL_LEAKS_FREES the stack of that put; a forwarded one is
 * found in the table, interior pointers included (every entry is read:
 * the process is about to abort), its frees are not kept. */
void tp_leak_bad_free(const void *p) {
  uint64_t v = 0;
  if (tp_is_pooled(p)) {
    size_t t = tp_tier_of_ptr(p);
    if (t >= tp_layout.ntiers || !tp_lk.side[t]) return;
    v = atomic_load_explicit((_Atomic uint64_t *)&tp_lk.side[t][tp_block_index(p, (unsigned)t)],
                             memory_order_relaxed);
  } else {
    v = (uint64_t)tp_leak_fwd_id_at((uintptr_t)p) << 32;
  }
  uint32_t id = (uint32_t)(v >> 32), by = tp_is_pooled(p) ? tp_side_freed_by(v) : 0;
  if (id <= TP_STACK_OVERFLOW) return;
  print_stack(id, tp_side_charged(v) || !tp_is_pooled(p)
                      ? "tierpool: the block (still in use) was allocated from:\n"
                      : "tierpool: the block (already freed) was allocated from:\n");
  if (by > TP_STACK_OVERFLOW) print_stack(by, "tierpool: and first freed from:\n");
}

/* ------------------------------------------------------------ process */

static char tp_cmdline[TP_CMDLINE_MAX + 1]; /* report lock held */
static char tp_cwd[4096];
static bool tp_cmdline_cut;

/* The command line and the working directory, which name a process among
 * the many of a test run: "which test leaked". */
static void read_process(void) {
  tp_read_cmdline(tp_cmdline, &tp_cmdline_cut);
  tp_read_cwd(tp_cwd, sizeof tp_cwd);
}

void tp_leak_collect(uint32_t from, tp_leak_sum_t *sum, tp_out_t *out, uint64_t top) {
  size_t n = gather(from, sum, true, false);
  if (out) text_report(out, n, sum, top);
}

void tp_leak_report_exit(void) {
  if (!tp_leak_mode || !tp_leak_report_acquire()) return;
  static char buf[16384]; /* report lock held */
  tp_out_t o;
  tp_out_init(&o, buf, sizeof buf, STDERR_FILENO);
  tp_leak_sum_t sum;
  size_t n = gather(tp_leak_tab.report_from, &sum, true, true);
  if (n) {
    read_process();
    tp_out_str(&o, "tierpool: pid ");
    tp_out_u64(&o, (uint64_t)getpid());
    tp_out_str(&o, ": ");
    tp_out_str(&o, tp_cmdline);
    tp_out_str(&o, tp_cmdline_cut ? " ... (in " : " (in ");
    tp_out_str(&o, tp_cwd);
    tp_out_str(&o, ")\ntierpool: ");
    text_report(&o, n, &sum, tp_stats_config.leaks_top);
    tp_out_flush(&o);
  }
  tp_leak_report_release();
}

/* ------------------------------------------------------------ JSON */

static const tp_field_t f_mode = TP_KEY("mode"), f_estimated = TP_KEY("estimated"),
                        f_depth = TP_KEY("depth"), f_interval = TP_KEY("sample_interval"),
                        f_since = TP_KEY("since"), f_nstacks = TP_KEY("stack_count"),
                        f_blocks = TP_KEY("blocks"), f_bytes = TP_KEY("bytes"),
                        f_dropped = TP_KEY("dropped"), f_samples = TP_KEY("samples"),
                        f_tiers = TP_KEY("tiers"), f_fwd = TP_KEY("forwarded"),
                        f_overflow = TP_KEY("overflow"), f_module = TP_KEY("module"),
                        f_offset = TP_KEY("offset"), f_function = TP_KEY("function"),
                        f_fn_offset = TP_KEY("function_offset"), f_kind = TP_KEY("kind"),
                        f_reach = TP_KEY("reachability"), f_stacks = TP_KEY("stacks"),
                        f_cmdline = TP_KEY("cmdline"), f_truncated = TP_KEY("cmdline_truncated"),
                        f_cwd = TP_KEY("cwd"), f_threads = TP_KEY("threads"),
                        f_stopped = TP_KEY("stopped"), f_unresp = TP_KEY("unresponsive"),
                        f_roots = TP_KEY("root_bytes"), f_scanned = TP_KEY("blocks_scanned"),
                        f_ms = TP_KEY("ms");
static const tp_field_t
    f_prom_blocks = {NULL, NULL, "leak_blocks",
                     "Blocks charged to a call stack and not freed (TIERPOOL_LEAKS; estimated "
                     "when sampled).", TP_GAUGE, TP_UNIT_COUNT},
    f_prom_bytes = {NULL, NULL, "leak_bytes", "Bytes asked for by those blocks.", TP_GAUGE,
                    TP_UNIT_BYTES},
    f_prom_stacks = {NULL, NULL, "leak_stacks", "Call stacks holding those blocks.", TP_GAUGE,
                     TP_UNIT_COUNT};

static void json_stack(tp_emitter_t *e, const tp_leak_row_t *r) {
  const tp_stack_t *s = &tp_leak_tab.stacks[r->id];
  tp_emit_object_begin(e, NULL);
  tp_emit_scalar(e, &f_kind, tp_v_str(tp_kind_names[r->kind]));
  tp_emit_scalar(e, &f_blocks, tp_v_u64(row_blocks(r)));
  tp_emit_scalar(e, &f_bytes, tp_v_u64((uint64_t)(r->bytes > 0 ? r->bytes : 0)));
  tp_emit_scalar(e, &f_samples, tp_v_u64((uint64_t)r->live));
  uint64_t sizes[TP_MAX_TIERS];
  size_t k = 0;
  for (unsigned t = 0; t < TP_MAX_TIERS; t++)
    if (r->tiers >> t & 1) sizes[k++] = tp_tier_size(t);
  tp_emit_list(e, &f_tiers, sizes, k, 0);
  tp_emit_scalar(e, &f_fwd, tp_v_bool(r->tiers >> TP_LEAK_FWD_BIT & 1));
  if (r->id == TP_STACK_OVERFLOW) tp_emit_scalar(e, &f_overflow, tp_v_bool(true));
  tp_emit_array_begin(e, "frames");
  for (unsigned i = 0; i < s->depth; i++) {
    tp_frame_t f;
    frame_of(s, i, &f);
    tp_emit_object_begin(e, NULL);
    tp_emit_scalar(e, &f_module, f.module ? tp_v_str(f.module) : tp_v_null());
    tp_emit_scalar(e, &f_offset, tp_v_u64(f.offset));
    tp_emit_scalar(e, &f_function, f.function ? tp_v_str(f.function) : tp_v_null());
    tp_emit_scalar(e, &f_fn_offset, f.function ? tp_v_u64(f.fn_offset) : tp_v_null());
    tp_emit_object_end(e);
  }
  tp_emit_array_end(e);
  tp_emit_object_end(e);
}

static void json_totals(tp_emitter_t *e, const char *key, uint64_t stacks, uint64_t blocks,
                        uint64_t bytes) {
  tp_emit_object_begin(e, key);
  tp_emit_scalar(e, &f_stacks, tp_v_u64(stacks));
  tp_emit_scalar(e, &f_blocks, tp_v_u64(blocks));
  tp_emit_scalar(e, &f_bytes, tp_v_u64(bytes));
  tp_emit_object_end(e);
}

static void json_scan(tp_emitter_t *e) {
  const tp_scan_info_t *i = &tp_scan_info;
  tp_emit_scalar(e, &f_reach, tp_v_bool(i->done));
  if (!i->done) return;
  tp_emit_object_begin(e, "scan");
  tp_emit_scalar(e, &f_threads, tp_v_u64(i->threads));
  tp_emit_scalar(e, &f_stopped, tp_v_u64(i->stopped));
  tp_emit_scalar(e, &f_unresp, tp_v_u64(i->unresponsive));
  tp_emit_scalar(e, &f_roots, tp_v_u64(i->root_bytes));
  tp_emit_scalar(e, &f_scanned, tp_v_u64(i->blocks_scanned));
  tp_emit_scalar(e, &f_ms, tp_v_ratio(i->ns, 1000000));
  tp_emit_object_end(e);
}

void tp_leak_render(tp_emitter_t *e, const void *ctx) {
  const enum tp_dump_reason *reason = ctx;
  if (!tp_leak_mode || !tp_leak_report_acquire()) return;
  tp_leak_sum_t sum;
  uint32_t from = tp_leak_tab.report_from;
  bool at_rest = !reason || *reason == TP_DUMP_EXIT || *reason == TP_DUMP_API;
  size_t n = gather(from, &sum, at_rest, at_rest);
  uint64_t top = tp_stats_config.leaks_top;
  size_t shown = top && top < n ? (size_t)top : n;
  tp_out_t *o = tp_emit_text_out(e);
  if (o) text_report(o, n, &sum, top);
  tp_emit_scalar(e, &f_prom_stacks, tp_v_u64(sum.stacks));
  tp_emit_scalar(e, &f_prom_blocks, tp_v_u64(sum.blocks));
  tp_emit_scalar(e, &f_prom_bytes, tp_v_u64(sum.bytes));
  if (e->format == TP_FORMAT_JSON) {
    tp_emit_object_begin(e, "leaks");
    tp_emit_scalar(e, &f_mode, tp_v_str(tp_leak_mode == TP_LEAKS_SAMPLE ? "sample" : "all"));
    tp_emit_scalar(e, &f_estimated, tp_v_bool(tp_leak_mode == TP_LEAKS_SAMPLE));
    tp_emit_scalar(e, &f_depth, tp_v_u64(tp_leak_tab.depth));
    tp_emit_scalar(e, &f_interval, tp_v_u64(tp_stats_config.leaks_sample));
    tp_emit_scalar(e, &f_since, tp_v_u64(from));
    tp_emit_scalar(e, &f_nstacks, tp_v_u64(sum.stacks));
    tp_emit_scalar(e, &f_blocks, tp_v_u64(sum.blocks));
    tp_emit_scalar(e, &f_bytes, tp_v_u64(sum.bytes));
    tp_emit_scalar(e, &f_dropped,
                   tp_v_u64(atomic_load_explicit(&tp_leak_tab.dropped, memory_order_relaxed)));
    json_scan(e);
    for (unsigned k = 0; k < TP_KINDS; k++)
      json_totals(e, tp_kind_names[k], sum.kind_stacks[k], sum.kind_blocks[k], sum.kind_bytes[k]);
    read_process();
    tp_emit_object_begin(e, "process");
    tp_emit_scalar(e, &f_cmdline, tp_v_str(tp_cmdline));
    tp_emit_scalar(e, &f_truncated, tp_v_bool(tp_cmdline_cut));
    tp_emit_scalar(e, &f_cwd, tp_v_str(tp_cwd));
    tp_emit_object_end(e);
    tp_emit_array_begin(e, "stacks");
    for (size_t i = 0; i < shown; i++) json_stack(e, &tp_rows[i]);
    tp_emit_array_end(e);
    tp_emit_object_end(e);
  }
  tp_leak_report_release();
}
