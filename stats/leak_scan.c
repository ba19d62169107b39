/* leak_scan.c - reachability at exit, as LeakSanitizer does it: which of
 * the blocks still charged are leaked (direct or indirect) and which are
 * still reachable.
 *
 * A conservative mark, in the shape of lsan_common.cpp (our own code):
 *
 *   1. roots, scanned for words that point into a block (interior pointers
 *      count): the writable PT_LOAD segments of every loaded module but
 *      tierpool's and mimalloc's own; every thread's stack from its stack
 *      pointer (minus the red zone) to the top of its mapping, and its
 *      registers, with the other threads stopped (leak_world.c); every
 *      thread's static TLS and thread descriptor around its thread pointer,
 *      and its DTV (the dynamic TLS blocks); as LSan does, the blocks ld.so
 *      allocated itself (DTVs, dynamic TLS, its tables); and, as valgrind
 *      does, the program's anonymous memory (tp_anon_roots, leak_world.c).
 *   2. flood fill: every block reached is tagged reachable and pushed on an
 *      explicit mark stack (mmap'd, never malloc), then scanned in turn.
 *   3. every charged block not reachable is scanned once more; the
 *      unreachable blocks it points to (other than itself) are tagged
 *      indirect. Untagged unreachable blocks are direct. (A cycle of leaked
 *      blocks is all indirect, as in LSan.)
 *
 * What a word points into:
 *   - the pool span: tier by shift, block by shift (span arithmetic); a
 *     carved block is live unless the engine says it is free, charged in
 *     the side array or not (allocated before the hooks, or not sampled).
 *     The engine is asked block by block, the first time a word points
 *     into one (tp_engine_block_free, core/walk.h; the batch heads it
 *     cannot tell so are noted first): a walk of every carved block would
 *     read the whole pool, 80 MB for a python3 that freed its objects;
 *   - otherwise a forwarded block: a sorted snapshot of the forwarded
 *     table, binary search, [p, p + length).
 * A pooled block is scanned whole (its tier size: realloc within a tier
 * keeps the block but not the new length); a forwarded one for its length.
 * Every read outside the pool is clipped to the readable mappings of
 * /proc/self/maps, read after the world is stopped.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "central.h" /* the carve fronts: how many blocks each tier has */
#include "fallback.h" /* mimalloc's code, to skip its data */
#include "leak_int.h"
#include "os.h"
#include "sampler.h"
#include "sort.h"
#include "leak_world.h"
#include "walk.h"

/* A pooled block's tag starts at TAG_NONE (not looked at yet) and is
 * found live or free the first time a word points into it. */
enum { TAG_NONE = 0, TAG_REACH = 1, TAG_INDIRECT = 2, TAG_FREE = 3, TAG_LIVE = 4 };

#define TP_SCAN_ROOTS 16384    /* writable segments of loaded modules */
#define TP_TCB_SCAN 4096       /* the thread descriptor above the thread pointer */
#define TP_RED_ZONE 128        /* below the stack pointer, the ABI's red zone */
#define TP_DTV_MAX 65536       /* most DTV entries believed */
#define TP_SCAN_SPS 4096       /* threads whose stack mappings are known */

TP_HOOKED_DATA tp_scan_info_t tp_scan_info;
TP_HOOKED_DATA tp_kind_acc_t *tp_scan_acc;
/* Entries of tp_scan_acc a scan may have written: [0, acc_hi). The table
 * is 18 MiB; zeroing it up to the last stack id would touch pages that
 * no block of a scan is ever accounted to. */
TP_HOOKED_DATA static uint32_t acc_hi;

typedef struct tp_range_s {
  uintptr_t lo, hi;
} tp_range_t;

/* A block: its tag and its extent. */
typedef struct tp_node_s {
  uint8_t *tag;
  uintptr_t lo, hi;
} tp_node_t;

/* The small fields first and the array last: a scan touches the first
 * page or two of this (each page a process touches first costs it a page
 * fault, scripts/touch-cost). */
static struct {
  tp_world_t world;
  tp_maps_t maps;
  size_t nroots;
  uintptr_t skip[2][2];        /* tierpool's and mimalloc's spans: not roots */
  uintptr_t ldso_fn;           /* an address inside ld.so */
  size_t tls_static;           /* bytes of static TLS below the thread pointer */
  /* per scan, mmap'd and unmapped */
  uint8_t *tag_mem;
  size_t tag_bytes;
  uint8_t *tags[TP_MAX_TIERS];
  uint64_t nblocks[TP_MAX_TIERS];
  const uint64_t *side[TP_MAX_TIERS];
  tp_fwd_t *fwd;               /* charged and uncharged forwarded blocks, sorted by p */
  size_t nfwd, fwd_bytes;
  uintptr_t fwd_lo, fwd_hi;
  tp_range_t *stack;           /* the mark stack */
  size_t nstack, cap, stack_bytes;
  uint64_t *charged;           /* the charged pooled blocks (charged_init) */
  size_t ncharged, charged_bytes;
  uint8_t *ldso_stack;         /* [nstacks]: 1 if the stack's innermost frame is in ld.so */
  size_t ldso_bytes;
  uintptr_t self;              /* the leaked block being scanned (indirect pass) */
  /* The modules' writable segments; once scanned, what the pass over
   * anonymous memory leaves out, in their place: they (roots already) and
   * the two spans, page aligned (anon_skips). */
  tp_range_t roots[TP_SCAN_ROOTS + 2];
} sc;

static void unmap(void *p, size_t bytes) {
  if (p && bytes) tp_os_unmap(p, bytes);
}

/* ------------------------------------------------------------ set-up */

/* What the scan needs from ld.so, and its table, looked up at its first
 * run, which is at rest (at exit or from the API, never in a signal
 * handler): a process that never scans pays for none of it (the lookup
 * and the first touches of the pages they write were about 50 us of
 * every process's start under leak tracking). */
static bool scan_ready(void) {
  if (tp_scan_acc) return true;
  tp_object_span((uintptr_t)&tp_leak_scan, sc.skip[0], NULL);
  /* glibc's own answer for the static TLS size (what LSan asks too); a
   * generous default without it. */
  void (*info)(size_t *, size_t *);
  *(void **)&info = dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info"); /* POSIX's form */
  size_t size = 0, align = 0;
  if (info) info(&size, &align);
  sc.tls_static = size ? size : 64 * 1024;
  sc.ldso_fn = info ? (uintptr_t)*(void **)&info : 0;
  tp_scan_acc = tp_os_map(sizeof(tp_kind_acc_t) * TP_LEAK_MAX_STACKS, true);
  return tp_scan_acc != NULL;
}

/* Writable PT_LOAD segments of every module but ours: the globals. */
static int module_roots(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size, (void)arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || !ph->p_memsz) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    bool ours = false;
    for (int s = 0; s < 2; s++) ours |= lo - sc.skip[s][0] < sc.skip[s][1] - sc.skip[s][0];
    if (ours || sc.nroots >= TP_SCAN_ROOTS) continue;
    sc.roots[sc.nroots++] = (tp_range_t){lo, hi};
  }
  return 0;
}

/* ------------------------------------------------------------ blocks */

/* The charged slots of the side arrays (carved blocks only), listed once
 * as (tier << TP_CHARGED_SHIFT | block number): three passes use them, and
 * at exit they are few among many carved blocks (python3 dicts.py, `all`
 * mode: 497 of 1.2 million, whose side arrays are 10 MB). The pages of the
 * side arrays never written are skipped: in sample mode no pooled block
 * is charged, and no page is. */
#define TP_CHARGED_SHIFT 56

static bool charged_init(uint64_t total) {
  const uint64_t per_page = TP_PAGE_SIZE / sizeof(uint64_t);
  sc.charged_bytes = ((size_t)total + 1) * sizeof(uint64_t);
  if (!(sc.charged = tp_os_map(sc.charged_bytes, true))) return false; /* only what is written counts */
  sc.ncharged = 0;
  for (unsigned t = 0; t < tp_layout.ntiers && tp_layout.span; t++) {
    const uint64_t *side = sc.side[t];
    if (!side || !sc.nblocks[t]) continue;
    tp_resident_t r;
    tp_resident_init(&r, side, sc.nblocks[t] * sizeof(uint64_t));
    for (uint64_t i0 = 0; i0 < sc.nblocks[t]; i0 += per_page) {
      if (!tp_resident(&r, (uintptr_t)&side[i0])) continue;
      uint64_t end = i0 + per_page < sc.nblocks[t] ? i0 + per_page : sc.nblocks[t];
      for (uint64_t i = i0; i < end; i++)
        if (tp_side_charged(side[i])) sc.charged[sc.ncharged++] = (uint64_t)t << TP_CHARGED_SHIFT | i;
    }
  }
  return true;
}

typedef void (*tp_charged_fn)(unsigned t, uint64_t i, uint64_t v, void *ctx);

static void for_each_charged(tp_charged_fn fn, void *ctx) {
  for (size_t k = 0; k < sc.ncharged; k++) {
    unsigned t = (unsigned)(sc.charged[k] >> TP_CHARGED_SHIFT);
    uint64_t i = sc.charged[k] & (((uint64_t)1 << TP_CHARGED_SHIFT) - 1);
    fn(t, i, sc.side[t][i], ctx);
  }
}

typedef struct {
  tp_fwd_t *cur, *end;
} tp_fwd_out_t;

/* (An entry past the room counted for is dropped: none is, with the
 * world stopped.) */
static void copy_fwd(const tp_fwd_t *e, void *out) {
  tp_fwd_out_t *o = out;
  if (o->cur < o->end) *o->cur++ = *e;
}

static bool by_p(const void *a, const void *b) {
  return ((const tp_fwd_t *)a)->p < ((const tp_fwd_t *)b)->p;
}

static void mark_free(void *ctx, unsigned t, uintptr_t blk) {
  (void)ctx;
  uint64_t i = (blk - tp_region_start(t)) >> (t + TP_MIN_SHIFT);
  if (sc.tags[t] && i < sc.nblocks[t]) sc.tags[t][i] = TAG_FREE;
}

/* The scan's arrays: tags of the carved blocks, the forwarded snapshot,
 * the mark stack. Called with the world stopped (the carve fronts and the
 * forwarded table hold still). */
static bool arrays_init(void) {
  uint64_t total = 0;
  for (unsigned t = 0; t < tp_layout.ntiers && tp_layout.span; t++) {
    sc.side[t] = tp_leak_side(t);
    uint64_t carved = atomic_load_explicit(&tp_central[t].carve, memory_order_acquire);
    sc.nblocks[t] = sc.side[t] ? carved >> (t + TP_MIN_SHIFT) : 0;
    total += sc.nblocks[t];
  }
  sc.tag_bytes = (size_t)total + 1;
  if (!(sc.tag_mem = tp_os_map(sc.tag_bytes, true))) return false;
  uint8_t *m = sc.tag_mem;
  for (unsigned t = 0; t < tp_layout.ntiers && tp_layout.span; t++) {
    sc.tags[t] = sc.nblocks[t] ? m : NULL;
    m += sc.nblocks[t];
    if (sc.tags[t]) tp_engine_for_each_free_head(t, mark_free, NULL);
  }
  /* Room for a full table and every live sampled block (entries of their
   * own, and as many as were sampled: the world holds still), in one pass
   * over them: only the pages written count (MAP_NORESERVE). */
  size_t sampled = tp_sampled_each(NULL, NULL);
  sc.fwd_bytes = ((size_t)TP_LEAK_FWD_SLOTS + sampled + 1) * sizeof(tp_fwd_t);
  if (!(sc.fwd = tp_os_map(sc.fwd_bytes, true))) return false;
  tp_fwd_out_t out = {sc.fwd, sc.fwd + TP_LEAK_FWD_SLOTS + sampled};
  tp_leak_fwd_each(copy_fwd, &out);
  sc.nfwd = (size_t)(out.cur - sc.fwd);
  for (size_t i = 0; i < sc.nfwd; i++) sc.fwd[i].tag = TAG_NONE;
  tp_sort(sc.fwd, sc.nfwd, sizeof *sc.fwd, by_p); /* by address, for the lookups */
  sc.fwd_lo = sc.nfwd ? sc.fwd[0].p : 0;
  sc.fwd_hi = 0;
  for (size_t i = 0; i < sc.nfwd; i++) {
    uintptr_t end = sc.fwd[i].p + (sc.fwd[i].n ? sc.fwd[i].n : 1);
    if (end > sc.fwd_hi) sc.fwd_hi = end;
  }
  /* Each block is pushed at most once (its tag changes first). */
  sc.cap = (size_t)total + sc.nfwd + 1;
  sc.stack_bytes = sc.cap * sizeof(tp_range_t);
  sc.nstack = 0;
  return (sc.stack = tp_os_map(sc.stack_bytes, true)) != NULL && charged_init(total);
}

static void arrays_free(void) {
  unmap(sc.tag_mem, sc.tag_bytes);
  unmap(sc.fwd, sc.fwd_bytes);
  unmap(sc.stack, sc.stack_bytes);
  unmap(sc.ldso_stack, sc.ldso_bytes);
  unmap(sc.charged, sc.charged_bytes);
  sc.charged = NULL;
  sc.tag_mem = NULL;
  sc.fwd = NULL;
  sc.stack = NULL;
  sc.ldso_stack = NULL;
  memset(sc.tags, 0, sizeof sc.tags);
}

/* The block that address a lies in, if it is one that may hold pointers
 * (live, charged or not). */
static bool node_of(uintptr_t a, tp_node_t *nd) {
  if (a - tp_layout.base < tp_layout.span) {
    unsigned t = (unsigned)tp_tier_of_ptr((const void *)a);
    uintptr_t start = tp_region_start(t);
    uint64_t i = (a - start) >> (t + TP_MIN_SHIFT);
    if (i >= sc.nblocks[t]) return false;
    uint8_t *tag = &sc.tags[t][i];
    uintptr_t blk = start + (i << (t + TP_MIN_SHIFT));
    if (*tag == TAG_NONE) *tag = tp_engine_block_free(blk) ? TAG_FREE : TAG_LIVE;
    if (*tag == TAG_FREE) return false;
    nd->tag = tag;
    nd->lo = blk;
    nd->hi = blk + tp_tier_size(t);
    return true;
  }
  if (a - sc.fwd_lo >= sc.fwd_hi - sc.fwd_lo) return false;
  size_t lo = 0, hi = sc.nfwd; /* the last entry with p <= a */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sc.fwd[mid].p <= a) lo = mid + 1;
    else hi = mid;
  }
  if (!lo) return false;
  tp_fwd_t *f = &sc.fwd[lo - 1];
  uintptr_t end = f->p + (f->n ? f->n : 1);
  if (a >= end) return false;
  nd->tag = &f->tag;
  nd->lo = f->p;
  nd->hi = f->p + f->n;
  return true;
}

/* ------------------------------------------------------------ scanning */

/* Scans the words of [lo, hi), which must be readable. With TAG_REACH,
 * every block not yet reached is tagged and pushed; with TAG_INDIRECT
 * (scanning the leaked block [lo, hi)), the unreached blocks it points to
 * are tagged indirect. */
static void scan_words(uintptr_t lo, uintptr_t hi, uint8_t tag) {
  const uintptr_t pool_lo = tp_layout.base, pool_n = tp_layout.span;
  const uintptr_t fwd_lo = sc.fwd_lo, fwd_n = sc.fwd_hi - sc.fwd_lo;
  for (uintptr_t a = (lo + 7) & ~(uintptr_t)7; a + 8 <= hi; a += 8) {
    uintptr_t w = *(const volatile uintptr_t *)a;
    if (w - pool_lo >= pool_n && w - fwd_lo >= fwd_n) continue; /* most words */
    tp_node_t nd;
    if (!node_of(w, &nd)) continue;
    if (tag == TAG_REACH) {
      if (*nd.tag == TAG_REACH) continue;
      *nd.tag = TAG_REACH;
      if (sc.nstack < sc.cap) sc.stack[sc.nstack++] = (tp_range_t){nd.lo, nd.hi};
    } else if (*nd.tag != TAG_REACH && nd.lo != sc.self) { /* pointers to itself do not count */
      *nd.tag = TAG_INDIRECT;
    }
  }
}

/* Scans the readable parts of [lo, hi), mapping by mapping. */
static void scan_range(uintptr_t lo, uintptr_t hi, uint8_t tag) {
  if (lo - tp_layout.base < tp_layout.span && hi - tp_layout.base <= tp_layout.span) {
    scan_words(lo, hi, tag); /* a pooled block: carved, so committed */
    return;
  }
  while (lo < hi) {
    const tp_vma_t *v = tp_maps_next(&sc.maps, lo);
    if (!v || v->lo >= hi) return;
    if (v->lo > lo) lo = v->lo; /* a hole: on to the next mapping */
    uintptr_t end = v->hi < hi ? v->hi : hi;
    scan_words(lo, end, tag);
    lo = end;
  }
}

/* A root: counted, then scanned. */
static void scan_root(uintptr_t lo, uintptr_t hi) {
  if (hi <= lo) return;
  tp_scan_info.root_bytes += hi - lo;
  scan_range(lo, hi, TAG_REACH);
}

/* A module's writable segment, the pages that may hold anything only
 * (tp_resident: in memory or swapped out). A page never touched holds
 * what the file has there (initialised data that no relocation wrote: no
 * block's address) or zeros (.bss): nothing to find, and reading it would
 * map it. /bin/true under `all` mode read nine such pages of libc's, each
 * a page fault. */
static void scan_module_root(uintptr_t lo, uintptr_t hi) {
  tp_resident_t r;
  uintptr_t pg = lo & ~(uintptr_t)(TP_PAGE_SIZE - 1);
  tp_resident_init(&r, (void *)pg, hi - pg);
  uintptr_t run = 0; /* the start of the run of pages read, 0: none */
  for (; pg < hi; pg += TP_PAGE_SIZE) {
    bool in = tp_resident(&r, pg);
    if (in && !run) run = pg > lo ? pg : lo;
    if (!in && run) scan_root(run, pg), run = 0;
  }
  if (run) scan_root(run, hi);
}

static void flood(void) {
  while (sc.nstack) {
    tp_range_t r = sc.stack[--sc.nstack];
    tp_scan_info.blocks_scanned++;
    scan_range(r.lo, r.hi, TAG_REACH);
  }
}

/* [lo, hi) to the end of its mapping. */
static void scan_to_top(uintptr_t sp) {
  if (!sp) return;
  const tp_vma_t *v = tp_maps_find(&sc.maps, sp);
  if (!v) return;
  uintptr_t lo = sp - TP_RED_ZONE >= v->lo ? sp - TP_RED_ZONE : v->lo;
  scan_root(lo, v->hi);
}

/* Static TLS below the thread pointer, the descriptor above it, and the
 * DTV's entries (pointers to the dynamic TLS blocks): glibc keeps the main
 * thread's in memory of ld.so's start-up allocator, not on any stack. */
static void scan_tls(uintptr_t tp) {
  if (!tp) return;
  scan_root(tp > sc.tls_static ? tp - sc.tls_static : 0, tp + TP_TCB_SCAN);
  const tp_vma_t *v = tp_maps_find(&sc.maps, tp + sizeof(uintptr_t));
  if (!v) return;
  uintptr_t dtv = ((const uintptr_t *)tp)[1]; /* tcbhead_t: tcb, dtv, self */
  /* dtv[-1].counter: entries allocated; each entry is 16 bytes. */
  const tp_vma_t *d = tp_maps_find(&sc.maps, dtv - 16);
  if (!d || dtv + 8 > d->hi) return;
  uintptr_t len = ((const uintptr_t *)dtv)[-2];
  if (len > TP_DTV_MAX) len = TP_DTV_MAX;
  scan_root(dtv - 16, dtv + 16 * (len + 1));
}

static void ldso_block(unsigned t, uint64_t i, uint64_t v, void *ctx) {
  uint32_t nstacks = *(const uint32_t *)ctx;
  if ((v >> 32) >= nstacks || !sc.ldso_stack[v >> 32] || sc.tags[t][i] == TAG_REACH) return;
  sc.tags[t][i] = TAG_REACH;
  uintptr_t blk = tp_region_start(t) + (i << (t + TP_MIN_SHIFT));
  sc.stack[sc.nstack++] = (tp_range_t){blk, blk + tp_tier_size(t)};
}

/* Blocks ld.so allocated (DTVs, dynamic TLS blocks, its tables) are roots,
 * as in LSan: ld.so keeps them where no scan looks. */
static void ldso_roots(uint32_t nstacks) {
  const tp_leak_tab_t *t = &tp_leak_tab;
  unsigned ldso = TP_LEAK_NO_MODULE;
  uint32_t nmod = atomic_load_explicit(&t->nmodules, memory_order_acquire);
  for (uint32_t m = 0; m < nmod && sc.ldso_fn; m++)
    if (sc.ldso_fn - t->modules[m].lo < t->modules[m].hi - t->modules[m].lo) ldso = m;
  if (ldso == TP_LEAK_NO_MODULE) return;
  sc.ldso_bytes = nstacks + 1;
  if (!(sc.ldso_stack = tp_os_map(sc.ldso_bytes, true))) return;
  bool any = false;
  for (uint32_t id = TP_STACK_OVERFLOW + 1; id < nstacks; id++) {
    const tp_stack_t *s = &t->stacks[id];
    if (s->key && s->depth && t->mods[s->frame0] == ldso) {
      sc.ldso_stack[id] = 1;
      any = true;
    }
  }
  if (!any) return;
  for_each_charged(ldso_block, &nstacks);
  for (size_t i = 0; i < sc.nfwd; i++) {
    tp_fwd_t *f = &sc.fwd[i];
    if (f->id >= nstacks || !sc.ldso_stack[f->id] || f->tag == TAG_REACH) continue;
    f->tag = TAG_REACH;
    sc.stack[sc.nstack++] = (tp_range_t){f->p, f->p + f->n};
  }
}

/* ------------------------------------------------------------ classify */

static unsigned kind_of(uint8_t tag) {
  return tag == TAG_REACH ? TP_KIND_REACHABLE : tag == TAG_INDIRECT ? TP_KIND_INDIRECT : TP_KIND_DIRECT;
}

static void acc_clear(void) {
  if (acc_hi) memset(tp_scan_acc, 0, sizeof(tp_kind_acc_t) * acc_hi);
  acc_hi = 0;
}

static void account(uint32_t id, uint64_t n, unsigned kind, uint32_t nstacks) {
  if (id == TP_STACK_NONE || id >= nstacks) return;
  int64_t count, bytes;
  tp_leak_weights(n, &count, &bytes);
  tp_kind_acc_t *a = &tp_scan_acc[id];
  if (id >= acc_hi) acc_hi = id + 1;
  a->live[kind]++;
  a->count[kind] += count;
  a->bytes[kind] += bytes;
}

/* A charged pooled block not reached: what it points to is indirect. */
static void scan_leaked(unsigned t, uint64_t i, uint64_t v, void *ctx) {
  (void)v, (void)ctx;
  if (sc.tags[t][i] == TAG_REACH) return;
  uintptr_t blk = tp_region_start(t) + (i << (t + TP_MIN_SHIFT));
  sc.self = blk;
  scan_range(blk, blk + tp_tier_size(t), TAG_INDIRECT);
}

static void account_block(unsigned t, uint64_t i, uint64_t v, void *ctx) {
  account((uint32_t)(v >> 32), v & 0xffffffffu, kind_of(sc.tags[t][i]), *(const uint32_t *)ctx);
}

/* Step 3, then the figures per stack. */
static void classify(uint32_t nstacks) {
  for_each_charged(scan_leaked, NULL);
  for (size_t i = 0; i < sc.nfwd; i++) {
    if (!sc.fwd[i].id || sc.fwd[i].tag == TAG_REACH) continue;
    sc.self = sc.fwd[i].p;
    scan_range(sc.fwd[i].p, sc.fwd[i].p + sc.fwd[i].n, TAG_INDIRECT);
  }
  acc_clear();
  for_each_charged(account_block, &nstacks);
  for (size_t i = 0; i < sc.nfwd; i++)
    account(sc.fwd[i].id, sc.fwd[i].n, kind_of(sc.fwd[i].tag), nstacks);
}

/* ------------------------------------------------------------ the scan */

/* The clock through the system call, not the vDSO: a short program that
 * never looked at the clock would map the vDSO's two data pages for it,
 * which costs more than the call (about 50 us against 1 on some virtual
 * machines). */
static uint64_t now_ns(void) {
  struct timespec ts;
  if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

TP_START_DATA static uintptr_t scan_from; /* tp_leak_scan_from's frame; 0: none */

void tp_leak_scan_from(const void *frame) { scan_from = (uintptr_t)frame; }

/* Where the scan reads the scanning thread's own stack from: the exit
 * report's entry frame if it lies on this stack above this frame (the
 * report runs on the thread that entered it), else this frame. */
static uintptr_t own_stack_from(uintptr_t self_sp) {
  const tp_vma_t *v = tp_maps_find(&sc.maps, self_sp);
  return v && scan_from > self_sp && scan_from < v->hi ? scan_from : self_sp;
}

/* Turns sc.roots, scanned, into the ranges the pass over anonymous
 * memory leaves out; returns how many. */
static size_t anon_skips(void) {
  _Static_assert(TP_SCAN_ROOTS + 2 <= TP_ANON_SKIP_MAX, "every root can be left out");
  _Static_assert(sizeof(tp_range_t) == 2 * sizeof(uintptr_t), "a range is a pair of words");
  size_t n = 0;
  for (size_t i = 0; i < sc.nroots + 2; i++) {
    uintptr_t lo = i < sc.nroots ? sc.roots[i].lo : sc.skip[i - sc.nroots][0];
    uintptr_t hi = i < sc.nroots ? sc.roots[i].hi : sc.skip[i - sc.nroots][1];
    if (hi <= lo) continue;
    sc.roots[n++] = (tp_range_t){lo & ~(uintptr_t)(TP_PAGE_SIZE - 1), TP_PAGE_UP(hi)};
  }
  sc.nroots = 0; /* (no longer roots) */
  return n;
}

__attribute__((noinline)) bool tp_leak_scan(void) {
  __builtin_unwind_init(); /* callee-saved registers onto this frame: scanned with the stack */
  uintptr_t self_sp = (uintptr_t)__builtin_frame_address(0);
  tp_scan_info = (tp_scan_info_t){0};
  /* (The case with nothing to classify is not timed.) */
  if (tp_leak_mode == TP_LEAKS_SAMPLE && !tp_leak_any_charged()) {
    acc_clear();
    tp_scan_info.done = true;
    return true;
  }
  uint64_t t0 = now_ns();
  if (!scan_ready()) return false;
  /* Before the others stop: dl_iterate_phdr takes the loader's lock, which
   * a stopped thread might hold; and the thread loading libunwind, if
   * any, blocks the stop signal. */
  tp_stack_unwinder_wait();
  sc.nroots = 0;
  tp_object_span(tp_fwd_code(), sc.skip[1], NULL); /* mimalloc's, once it is loaded */
  dl_iterate_phdr(module_roots, NULL);
  tp_resident_open(); /* before the others stop: open takes no lock, but why risk it */
  tp_world_t *w = &sc.world;
  bool stopped = tp_world_stop(w);
  bool ok = stopped && tp_maps_load(&sc.maps) && arrays_init();
  if (ok) {
    uint32_t nstacks = atomic_load_explicit(&tp_leak_tab.nstacks, memory_order_acquire);
    if (nstacks > TP_LEAK_MAX_STACKS) nstacks = TP_LEAK_MAX_STACKS;
    for (size_t i = 0; i < sc.nroots; i++) scan_module_root(sc.roots[i].lo, sc.roots[i].hi);
    scan_to_top(own_stack_from(self_sp));
    scan_tls(w->self.tp);
    for (uint32_t i = 0; i < w->n; i++) {
      tp_world_thread_t *th = &w->threads[i];
      int state = atomic_load_explicit(&th->state, memory_order_acquire);
      if (state == TP_THREAD_GONE) continue;
      tp_scan_info.threads++;
      if (state == TP_THREAD_STOPPED) {
        tp_scan_info.stopped++;
        scan_root((uintptr_t)th->regs, (uintptr_t)(th->regs + TP_WORLD_REGS));
        scan_tls(th->tp);
      } else {
        tp_scan_info.unresponsive++;
      }
      scan_to_top(th->sp);
    }
    ldso_roots(nstacks);
    static uintptr_t sps[TP_SCAN_SPS]; /* report lock held */
    size_t nsps = 0;
    sps[nsps++] = self_sp;
    for (uint32_t i = 0; i < w->n && nsps < TP_SCAN_SPS; i++)
      if (w->threads[i].sp) sps[nsps++] = w->threads[i].sp;
    size_t nskip = anon_skips();
    tp_anon_roots(&sc.maps, &sc.roots[0].lo, nskip, sps, nsps, scan_root);
    flood();
    classify(nstacks);
  }
  if (stopped) tp_world_resume(w);
  tp_resident_close();
  arrays_free();
  tp_scan_info.done = ok;
  tp_scan_info.acc_hi = acc_hi;
  tp_scan_info.ns = now_ns() - t0;
  return ok;
}
