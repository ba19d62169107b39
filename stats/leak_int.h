/* leak_int.h - what the leak_*.c files share: the per-block tables, the
 * stack table, the module table and the report's scratch space (see leak.h
 * for the overview and for which file owns what).
 *
 * The stack table:
 *
 *   index[]  (2^19 words)          stacks[] (dense, by id)        frame pool
 *   +------------------+           +---------------------+        +-------+
 *   | key:46  | id:18  | --------> | key, fhash, epoch   | -----> | ip    |
 *   +------------------+           | frame0, depth       |        | ip    |
 *   | 0 (empty)        |           | live, count, bytes  |        | ...   |
 *                                  +---------------------+        +-------+
 *
 * index is open addressing, linear probing, insert-only (sample mode looks
 * in a small part after it first, leak_stack.c's intern): a slot goes from 0
 * to (the key's top 46 bits, id) once, by CAS, after the stack entry and its
 * frames are written, so a reader that finds a slot finds a whole entry.
 * Ids are handed out by an atomic counter; entries are never removed. All
 * of it is mapped MAP_NORESERVE: only the pages touched count.
 */
#ifndef TP_STATS_LEAK_INT_H
#define TP_STATS_LEAK_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hooks.h"
#include "layout.h"
#include "leak.h"
#include "out.h"

#pragma GCC visibility push(hidden)

#define TP_LEAK_MAX_DEPTH 64             /* most frames a stack keeps */
/* Frames unwound on top of the wanted depth: those of tierpool itself (the
 * capture, the hook, the guard, the slow path, malloc or calloc or operator
 * new: 5 to 7). Every frame unwound costs, so no more than that. */
#define TP_STACK_SKIP_MAX 8
#define TP_LEAK_MAX_STACKS (1u << 18)    /* distinct stacks (ids) */
/* An index slot: the key's bits above the id's, and the id. */
#define TP_LEAK_ID_MASK ((uint64_t)TP_LEAK_MAX_STACKS - 1)
#define TP_LEAK_INDEX_SLOTS (1u << 19)   /* index load stays under 1/2 */
#define TP_LEAK_INDEX_SMALL (1u << 9)    /* sample mode's first part (4 KiB, a page), after it */
#define TP_LEAK_SMALL_PROBES 16          /* slots of it a stack looks at */
#define TP_LEAK_LINE_INNER 3             /* innermost frames that vary in an index line */
#define TP_LEAK_LINE_SLOTS 8             /* an index line: 64 bytes */
#define TP_LEAK_MAX_FRAMES (1u << 22)    /* frames of all stacks together */
#define TP_LEAK_MAX_MODULES 4096
#define TP_LEAK_PATH_BYTES (1u << 19)    /* module paths, NUL-terminated (128 bytes a module) */
#define TP_LEAK_NO_MODULE 0xffffu        /* a frame outside every module (JIT code) */
#define TP_STACK_NONE 0u                 /* id 0: no stack (not charged) */
#define TP_STACK_OVERFLOW 1u             /* charged when the table is full */
#define TP_LEAK_FWD_BIT 63               /* tp_leak_tab.tiers[id]: forwarded blocks */

/* One interned stack. Written once before it is published (key .. depth),
 * then only its counters change, by atomic add from any thread. */
typedef struct tp_stack_s {
  uint64_t key;                /* hash of the frames and the epoch */
  uint64_t fhash;              /* hash of the frames alone (merges periods) */
  uint32_t epoch;              /* the period it was captured in (marks, fork) */
  uint32_t frame0;             /* first frame in the pool */
  uint16_t depth;              /* frames kept */
  uint16_t unused16;
  uint32_t unused32;
  /* Kept in sample mode, and in `all` mode for the profile only (leak.c's
   * charge): otherwise a report counts from the side arrays. */
  _Atomic int64_t live;        /* blocks charged now (sampled blocks in sample mode) */
  _Atomic int64_t count;       /* sample mode: live blocks estimated, x count_scale */
  _Atomic int64_t bytes;       /* live bytes requested (an estimate in sample mode) */
  uint64_t unused64;           /* (the tiers charged: tp_leak_tab.tiers) */
} tp_stack_t;                  /* 64 bytes */

/* One loaded object as it was when a stack first ran through it. Entries
 * are never removed: a library closed before exit is still named. */
typedef struct tp_module_s {
  uintptr_t base;              /* load bias (dl_iterate_phdr's dlpi_addr) */
  uintptr_t lo, hi;            /* its PT_LOAD span, absolute addresses */
  uint32_t path;               /* offset of its path in tp_leak_tab.paths (0: "", the main program) */
  uint32_t unused;
  /* ELF symbols, loaded at report time by leak_elf.c (report lock held) */
  int elf_state;               /* 0 not tried, 1 loaded, -1 none */
  const char *strtab;          /* the symbols' names (a mapping of the file) */
  struct tp_elf_sym_s *syms;   /* function symbols sorted by address */
  size_t nsyms;
} tp_module_t;

typedef struct tp_leak_tab_s {
  tp_stack_t *stacks;          /* [TP_LEAK_MAX_STACKS] */
  /* What every tracked get reads of its stack, one word each, indexed by
   * id like stacks[] but apart from its 64-byte entries: ids are handed
   * out in the order stacks are first met, and a program meets them again
   * in much that order, so neighbouring gets read neighbouring words here
   * where the entries put each on a line of its own. tiers[id]: bit t,
   * tier t charged once, TP_LEAK_FWD_BIT a forwarded block. next[id]: the
   * stack a thread captured after this one when it last looked one up in
   * the index (0: none); a thread compares its frames first. */
  _Atomic uint32_t *next;
  _Atomic uint64_t *tiers;
  _Atomic uint32_t nstacks;    /* ids handed out so far */
  _Atomic uint64_t *index;     /* [TP_LEAK_INDEX_SLOTS] */
  _Atomic uint64_t *index_small; /* [TP_LEAK_INDEX_SMALL]: sample mode's first part */
  uintptr_t *ips;              /* frame pool: return addresses */
  uint16_t *mods;              /* frame pool: module of each frame */
  _Atomic uint32_t nframes;
  tp_module_t *modules;        /* [TP_LEAK_MAX_MODULES] */
  _Atomic uint32_t nmodules;   /* published after the entry is written */
  char *paths;                 /* [TP_LEAK_PATH_BYTES] */
  uint32_t npaths;             /* bytes used, from the top (module lock) */
  _Atomic int module_lock;     /* guards appends to modules/paths (hook code only) */
  _Atomic uint32_t epoch;      /* the current period; tierpool_mark and fork start a new one */
  uint32_t report_from;        /* first period an exit dump reports (the fork's, in a child) */
  int64_t count_scale;         /* 1 (all), 1024 (sample: counts are fixed-point) */
  bool captures_rare;          /* sample mode: a capture is rare (intern writes first) */
  unsigned depth;              /* TIERPOOL_LEAKS_DEPTH */
  uintptr_t self_lo, self_hi;  /* tierpool's own code: its frames are skipped */
  char exe[512];               /* the main program's path (its dlpi_name is ""), once read */
  _Atomic int exe_state;       /* 0, 1 being read, 2 read */
  _Atomic uint64_t dropped;    /* gets not tracked: forwarded table full */
} tp_leak_tab_t;

extern tp_leak_tab_t tp_leak_tab;

/* ------------------------------------------------------------ leak_tables.c */

/* A side slot: (stack id << 32) | length asked, 0 when never charged. The
 * put keeps the id with this flag in the length word (lengths are at most
 * the largest tier, 1 GiB), so a later double free can still name the
 * stack that allocated the block. Only an unflagged, non-zero slot is a
 * charge. */
#define TP_SIDE_FREED (1ull << 31)
/* A freed slot's length word: the stack that freed the block, when
 * TIERPOOL_LEAKS_FREES keeps it (leak.c), else 0. */
static inline uint32_t tp_side_freed_by(uint64_t v) {
  return v & TP_SIDE_FREED ? (uint32_t)(v & (TP_SIDE_FREED - 1)) : 0;
}
static inline bool tp_side_charged(uint64_t v) { return v && !(v & TP_SIDE_FREED); }

/* A forwarded block being tracked (an entry of the forwarded table). In
 * sample mode every forwarded block has one, sampled or not (id 0: not
 * charged), so that the reachability scan knows every forwarded block. */
typedef struct tp_fwd_s {
  uintptr_t p;  /* 0: empty slot */
  uint64_t n;   /* length asked */
  uint32_t id;  /* stack; TP_STACK_NONE: tracked for the scan only */
  uint8_t tag;  /* the scan's mark, in its snapshot (leak_scan.c) */
  uint8_t unused[3];
} tp_fwd_t;

#define TP_LEAK_FWD_BITS 20
#define TP_LEAK_FWD_SLOTS (1u << TP_LEAK_FWD_BITS)
/* The table's pages, and a bit for each that ever held an entry. */
#define TP_LEAK_FWD_PAGES ((TP_LEAK_FWD_SLOTS * sizeof(tp_fwd_t) + 4095) / 4096)
#define TP_LEAK_FWD_PAGE_WORDS ((TP_LEAK_FWD_PAGES + 63) / 64)

/* The per-block tables. leak_tables.c maps them; the hooks (leak.c) write
 * them; the scan, the report and the profile read them. */
typedef struct tp_leak_tables_s {
  uint64_t *side[TP_MAX_TIERS];     /* per tier, per block: (id << 32) | length */
  tp_fwd_t *fwd;                    /* [TP_LEAK_FWD_SLOTS], linear probing */
  uint32_t fwd_used;                /* entries in fwd (fwd_lock) */
  /* The pages of fwd that ever held an entry, a bit each (fwd_lock): what
   * a reader of every entry looks at (a look at all of them, whether
   * resident, was a good part of a short program's exit scan). Here, not
   * after the slots: there they were a page of their own, in a 2 MiB
   * window of their own, which costs a page table too (leak_stack.c). */
  uint64_t fwd_pages[TP_LEAK_FWD_PAGE_WORDS];
  _Atomic int fwd_lock;             /* taken by hook code only, never by a dump */
  double mean;                      /* sample: mean interval in bytes */
  /* The stacks' live figures are kept (leak.c's counting): with a
   * profile. Set before the hooks are installed. */
  bool counting;
} tp_leak_tables_t;

extern tp_leak_tables_t tp_lk;

/* Maps the side arrays and the forwarded table; false if the memory is
 * refused. */
bool tp_leak_tables_init(void);
/* What a captured block of n bytes stands for: blocks (x count_scale) and
 * bytes; estimates when sampled, (count_scale, n) in `all` mode. */
void tp_leak_weights(uint64_t n, int64_t *count, int64_t *bytes);
/* What the scan reads: tier t's side array ((id << 32) | length per block,
 * 0 when not charged) and the forwarded table's entries, each passed to fn
 * (reading only the table's pages ever written), with the sampler's live
 * blocks as entries of their own; returns how many. */
uint64_t *tp_leak_side(unsigned t);
size_t tp_leak_fwd_each(void (*fn)(const tp_fwd_t *e, void *ctx), void *ctx);
/* Whether any stack holds a block now (asked in sample mode). */
bool tp_leak_any_charged(void);
/* The stack of the forwarded block that holds address a, interior or not
 * (0: none): every entry read, for a bad free's report. */
uint32_t tp_leak_fwd_id_at(uintptr_t a);

/* ------------------------------------------------------------ leak.c */

/* Fills in the get and put hooks (leak_life.c installs them). */
void tp_leak_hooks_init(tp_hooks_t *hooks);
/* Gives back the charges of blocks that were freed without the put hook
 * seeing it (see leak.c). Reports call it before they count. */
void tp_leak_settle(void);

/* ------------------------------------------------------------ leak_scan.c */

/* Kinds of a charged block at exit, as LeakSanitizer names them. */
enum tp_leak_kind {
  TP_KIND_DIRECT = 0,    /* unreachable, and no unreachable block points to it */
  TP_KIND_INDIRECT = 1,  /* unreachable, pointed to by other unreachable blocks */
  TP_KIND_REACHABLE = 2, /* reachable from the roots: "still reachable" */
  TP_KIND_UNKNOWN = 3,   /* no scan was made (signal and interval dumps) */
  TP_KINDS = 4
};

/* Per stack, what a scan found: blocks (live), count (x count_scale) and
 * bytes of each kind. */
typedef struct tp_kind_acc_s {
  int64_t live[3], count[3], bytes[3];
} tp_kind_acc_t;

/* What the last scan saw. */
typedef struct tp_scan_info_s {
  bool done;              /* a scan ran and its figures are in tp_scan_acc */
  uint32_t acc_hi;        /* tp_scan_acc entries from this id on are all zero */
  uint32_t threads;       /* other threads of the process at the scan */
  uint32_t stopped;       /* of them, stopped by a signal (registers and stack read) */
  uint32_t unresponsive;  /* of them, not stopped: stack read from the kernel's sp */
  uint64_t root_bytes;    /* bytes of roots scanned */
  uint64_t blocks_scanned;
  uint64_t ns;            /* how long the scan took */
} tp_scan_info_t;

extern tp_scan_info_t tp_scan_info;
extern tp_kind_acc_t *tp_scan_acc; /* [TP_LEAK_MAX_STACKS], valid when tp_scan_info.done */

/* Marks the blocks reachable from the roots and classifies every charged
 * block (report lock held; call after tp_leak_settle). False when it could
 * not run (no memory for its arrays): kinds are then unknown. */
bool tp_leak_scan(void);

/* ------------------------------------------------------------ leak_stack.c */

/* Maps the stack and module tables; false if the memory is refused. */
bool tp_stack_init(void);
/* Captures the caller's stack (tierpool's frames skipped) and returns its
 * id in the current period, interning it if new. TP_STACK_OVERFLOW when a
 * table is full. Called from the get hook only. */
uint32_t tp_stack_capture(void);
/* Waits (2 s at most) while a thread loads libunwind: before a scan stops
 * the world, which that thread, every signal blocked, would not join. */
void tp_stack_unwinder_wait(void);
/* Resets the module lock and the loading of libunwind in a fork child. */
void tp_stack_fork_child(void);

/* ------------------------------------------------------------ leak_modules.c */

/* The path of module m, the main program's read when first asked (a
 * report's: /proc/self/exe is not read in a process that never reports). */
const char *tp_module_path(const tp_module_t *m);
/* Ties each of n frames to its module (TP_LEAK_NO_MODULE: none), adding
 * modules not met before. */
void tp_resolve_modules(const uintptr_t *ips, uint16_t *mods, unsigned n);
/* The PT_LOAD span of one loaded object ([0, 0) if it has none). */
struct dl_phdr_info;
void tp_load_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi);
/* The PT_LOAD span of the loaded object one of whose segments holds addr
 * ([0, 0) if none, or addr 0), and whether it is the main program. */
void tp_object_span(uintptr_t addr, uintptr_t out[2], bool *main_program);

/* ------------------------------------------------------------- leak_elf.c */

/* The function around vaddr (a link-time address in module m): its name and
 * vaddr's offset into it. False when the module has no symbol there. Maps
 * the module's file on first use; call with the report lock held. */
bool tp_elf_lookup(tp_module_t *m, uint64_t vaddr, const char **name, uint64_t *off);

/* ---------------------------------------------------------- leak_report.c */

/* The bad_free hook: a bad free the engine is about to abort on
 * (core/hardening.c). Writes the stack that allocated the block to stderr,
 * if tracking saw it. */
void tp_leak_bad_free(const void *p);

/* Totals of a report, for tierpool_leaks_since. */
typedef struct tp_leak_sum_s {
  uint64_t blocks, bytes, stacks;
  uint64_t kind_blocks[TP_KINDS], kind_bytes[TP_KINDS], kind_stacks[TP_KINDS];
} tp_leak_sum_t;

/* Takes the report's scratch space: false if this thread already holds it
 * (a signal interrupted a report) or another thread kept it too long. */
bool tp_leak_report_acquire(void);
void tp_leak_report_release(void);
/* In a fork child: the holder may have been another thread of the parent. */
void tp_leak_report_fork_child(void);
bool tp_leak_report_init(void);
/* Sums the stacks of periods >= from; with out, also writes the text
 * report of them (top: most stacks shown, 0 for all). Report lock held. */
void tp_leak_collect(uint32_t from, tp_leak_sum_t *sum, tp_out_t *out, uint64_t top);

#pragma GCC visibility pop

#endif
