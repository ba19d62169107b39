/* leak_unwind.c - the capture's own unwinder: libunwind's answer, faster.
 *
 * unw_backtrace costs about 70 ns to start and 10 ns a frame (a 40-frame
 * stack: 420 ns); on a program that allocates from deep recursion that is
 * most of exact mode's cost. This walk costs about 6 ns a frame and
 * nothing to start (250 ns). Most frames of x86-64 code compiled by gcc or
 * clang follow one shape, which is all this unwinder knows:
 *
 *   CFA = rsp or rbp + offset;  return address at CFA - 8;
 *   rbp unchanged or saved at CFA + offset;  the caller's rsp = CFA.
 *
 * Each code address gets that shape once, from the DWARF call frame
 * information of its module (leak_cfi.c), and keeps it in a lock-free
 * table; a frame is then a lookup and two loads. Anything else (a signal
 * frame, a CFA or register
 * rule that is an expression or uses another register, code without call
 * frame information, an unusual encoding) makes tp_unwind give up, and
 * the capture asks libunwind for the whole stack: the frames are either
 * the ones libunwind would give or libunwind's own. On other machines
 * libunwind walks every stack.
 *
 * A thread's consecutive stacks mostly share their outer frames; with a
 * memo of its last walk (tp_uw_memo_t), a walk takes the caller's own
 * frames as one piece, and one that reaches a frame of the last walk only
 * checks that the words the last walk read from there on still hold (see
 * tp_unwind).
 *
 * The table keys on the code address. A library unloaded and another
 * loaded at the same address would find stale shapes; the table is
 * dropped when the loader's count of removals moves, which is checked on
 * every miss, as libunwind checks its own caches.
 */
#include <link.h>
#include <stdatomic.h>
#include <string.h>

#include "common.h" /* tp_unlikely */
#include "leak_cfi.h"
#include "leak_unwind.h"
#include "os.h"

#if defined(__x86_64__)

#define UW_MIN_SHIFT 8  /* the first table: 256 slots, a page */
#define UW_MAX_SHIFT 15 /* the last: 32768 slots, 512 KiB */
#define UW_PROBES 16
#define UW_CLAIM (1ull << 63) /* a slot being written */
#define UW_RA_MASK ((1ull << 48) - 1)

/* A slot: key = (generation << 48) | return address (0: empty), and the
 * shape. A return address's home slot is at byte offset ra & off in the
 * table (off: its size less a slot), the address's bits 4 and up: a
 * frame's chain of dependent steps is one mask and a load, and its key and
 * shape share a line. Return addresses within 16 bytes of each other (two
 * calls in a row) take neighbouring slots. */
typedef struct {
  _Atomic uint64_t key, shape;
} uw_slot_t;

/* The table grows. A process that captures a few stacks (sample mode)
 * passes through a few dozen return addresses, and a fixed table of 32768
 * slots gave each piece of code they lie in a page of its own (`workloads
 * tree 14`: 8 pages): the first write to a page costs 12 to 37 us on some
 * virtual machines (scripts/touch-cost), more than a hundred captures from
 * warm tables. The first table is a page; when half full, its entries
 * are copied into one four times as large (the last step twice), laid
 * right after it in the same room, and the lookups move to it. (At half
 * a page, 128 slots, the return addresses of `all` mode's `tree 12` met
 * in their home slots often enough to cost 8% more instructions: a
 * lookup looks in the home slot only, inline.) The old
 * one stays as it was. The table is a cache: an entry added to the old
 * table while the new one is filled is lost, and found again at its next
 * miss.
 *
 * A lookup reads the table's address and its size less a slot (the home
 * slot's mask) as two words, each time: kept in registers for the walk,
 * they pushed other values to the stack (13 instructions more a capture
 * in `all` mode, callgrind, `workloads tree 12`). The two may come from
 * either side of a move: the new table with the old mask looks in its
 * first part, and the old table with the new mask reads past it into the
 * new one, inside the room. Either finds only true entries, and may add
 * one where it is not looked for: memory-safe, and at worst a miss. */
TP_HOOKED_DATA static char *_Atomic uw_tab;
TP_HOOKED_DATA static _Atomic size_t uw_off;
TP_HOOKED_DATA static _Atomic uint32_t uw_used;  /* entries added to the current table */
TP_HOOKED_DATA static _Atomic uint8_t uw_growing;
TP_HOOKED_DATA static _Atomic uint64_t uw_gen; /* the loader's removals seen, low 15 bits */

#define UW_BYTES(shift) (sizeof(uw_slot_t) << (shift))
_Static_assert(UW_BYTES(8) + UW_BYTES(10) + UW_BYTES(12) + UW_BYTES(14) + UW_BYTES(15) ==
                   TP_UW_TABLE_BYTES,
               "leak_unwind.h says the room the tables take");

static inline uw_slot_t *uw_slot(char *tab, size_t off) { return (uw_slot_t *)(tab + off); }

void tp_unwind_init(void *mem) {
  atomic_store_explicit(&uw_off, UW_BYTES(UW_MIN_SHIFT) - sizeof(uw_slot_t), memory_order_relaxed);
  atomic_store_explicit(&uw_tab, mem, memory_order_release);
}

size_t tp_unwind_slots(void) {
  return atomic_load_explicit(&uw_off, memory_order_relaxed) / sizeof(uw_slot_t) + 1;
}

/* A walk's first look reads a slot: in a page never touched, the kernel
 * maps the shared zero page for that read, and the entry written next
 * costs a second fault (two at one address in `workloads tree 14`'s first
 * capture, perf record). So while the table is empty, a write first, one
 * that changes nothing. */
void tp_unwind_touch(void) {
  if (atomic_load_explicit(&uw_used, memory_order_relaxed)) return;
  char *tab = atomic_load_explicit(&uw_tab, memory_order_acquire);
  if (tab) atomic_fetch_add_explicit(&uw_slot(tab, 0)->shape, 0, memory_order_relaxed);
}

/* ------------------------------------------------------------ the table */

/* The loader's count of unloaded objects (low 15 bits), read from the
 * first object dl_iterate_phdr shows. */
static int read_subs(struct dl_phdr_info *info, size_t size, void *arg) {
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
    *(uint64_t *)arg = info->dlpi_subs & 0x7fff;
  return 1;
}

/* The entries of generation gen in table tab (off: its mask), into the
 * next one, which then becomes the table (one thread at a time; another
 * that finds the table growing goes on with the old one). */
static __attribute__((noinline)) void uw_grow(char *tab, size_t off, uint64_t gen) {
  if (atomic_exchange_explicit(&uw_growing, 1, memory_order_acquire)) return;
  if (atomic_load_explicit(&uw_tab, memory_order_relaxed) == tab) {
    size_t bytes = off + sizeof(uw_slot_t), nbytes = bytes * 4;
    if (nbytes > UW_BYTES(UW_MAX_SHIFT)) nbytes = UW_BYTES(UW_MAX_SHIFT);
    char *nt = tab + bytes;
    size_t noff = nbytes - sizeof(uw_slot_t);
    uint32_t kept = 0;
    for (size_t o = 0; o <= off; o += sizeof(uw_slot_t)) {
      uint64_t k = atomic_load_explicit(&uw_slot(tab, o)->key, memory_order_acquire);
      if (k == 0 || (k & UW_CLAIM) || (k >> 48) != gen) continue;
      uint64_t sh = atomic_load_explicit(&uw_slot(tab, o)->shape, memory_order_relaxed);
      for (unsigned probe = 0; probe < UW_PROBES; probe++) {
        uw_slot_t *e = uw_slot(nt, ((k & UW_RA_MASK) + probe * sizeof(uw_slot_t)) & noff);
        if (atomic_load_explicit(&e->key, memory_order_relaxed)) continue;
        atomic_store_explicit(&e->shape, sh, memory_order_relaxed);
        atomic_store_explicit(&e->key, k, memory_order_release); /* after its shape */
        kept++;
        break;
      }
    }
    atomic_store_explicit(&uw_used, kept, memory_order_relaxed);
    atomic_store_explicit(&uw_tab, nt, memory_order_release); /* publishes the entries */
    atomic_store_explicit(&uw_off, noff, memory_order_release);
  }
  atomic_store_explicit(&uw_growing, 0, memory_order_release);
}

/* The shape of the frame that returns to ra, from the table or computed
 * and added: that of ra - 1, the call instruction's last byte (a call may
 * be a function's last instruction). The table keys on ra itself, which
 * keeps a subtraction out of every frame's chain of dependent steps. */
static __attribute__((noinline)) uint64_t shape_slow(uintptr_t ra, uint64_t *genp) {
  uint64_t gen = *genp;
  char *tab = atomic_load_explicit(&uw_tab, memory_order_acquire);
  size_t mask = atomic_load_explicit(&uw_off, memory_order_relaxed);
  size_t h = (size_t)ra, free_off = SIZE_MAX;
  if (ra >> 48) return tp_cfi_shape(ra - 1); /* beyond the key's 48 bits: not kept */
  for (unsigned probe = 0; probe < UW_PROBES; probe++) {
    size_t off = (h + probe * sizeof(uw_slot_t)) & mask;
    uint64_t k = atomic_load_explicit(&uw_slot(tab, off)->key, memory_order_acquire);
    if (k == (gen << 48 | ra)) return atomic_load_explicit(&uw_slot(tab, off)->shape, memory_order_relaxed);
    if (k == 0 || (!(k & UW_CLAIM) && (k >> 48) != gen)) { /* empty, or of an older generation */
      free_off = off;
      break;
    }
  }
  /* A miss: first make sure no object went away since the table was filled. */
  uint64_t subs = gen;
  dl_iterate_phdr(read_subs, &subs);
  if (subs != gen) {
    atomic_store_explicit(&uw_gen, subs, memory_order_relaxed);
    *genp = subs;
    return tp_cfi_shape(ra - 1); /* the next capture fills the table again */
  }
  uint64_t shape = tp_cfi_shape(ra - 1);
  if (free_off != SIZE_MAX) {
    uw_slot_t *e = uw_slot(tab, free_off);
    uint64_t k = atomic_load_explicit(&e->key, memory_order_relaxed);
    if ((k == 0 || (!(k & UW_CLAIM) && (k >> 48) != gen)) &&
        atomic_compare_exchange_strong(&e->key, &k, UW_CLAIM | gen << 48 | ra)) {
      atomic_store_explicit(&e->shape, shape, memory_order_relaxed);
      atomic_store_explicit(&e->key, gen << 48 | ra, memory_order_release);
      size_t slots = mask / sizeof(uw_slot_t) + 1;
      if (slots < (1u << UW_MAX_SHIFT) &&
          atomic_fetch_add_explicit(&uw_used, 1, memory_order_relaxed) + 1 > slots / 2)
        uw_grow(tab, mask, gen);
    }
  }
  return shape;
}

/* Most frames are found in their home slot: that look is inline. The
 * address's own low bits, unhashed: a multiply here lengthens every
 * frame's chain of dependent steps by a fifth, and return addresses are
 * spread well enough (call sites of one function land apart). *gen is the
 * walk's reading of uw_gen, moved on when a miss finds an object gone. */
static inline __attribute__((always_inline)) uint64_t shape_of(uintptr_t ra, uint64_t *gen) {
  const uw_slot_t *e = uw_slot(atomic_load_explicit(&uw_tab, memory_order_acquire),
                               (size_t)ra & atomic_load_explicit(&uw_off, memory_order_relaxed));
  if (atomic_load_explicit(&e->key, memory_order_acquire) == (*gen << 48 | ra))
    return atomic_load_explicit(&e->shape, memory_order_relaxed);
  return shape_slow(ra, gen);
}

/* ------------------------------------------------------------ unwinding */

/* The step of a frame of shape s (neither unknown nor the last) at *sp
 * (rbp *bp): the return address in *ra, the caller's rsp (the CFA) and rbp
 * in *sp, *bp. False for a wild CFA: the shape does not hold here, and
 * libunwind decides. */
static inline __attribute__((always_inline)) bool uw_frame(uint64_t s, uintptr_t *sp,
                                                           uintptr_t *bp, uintptr_t *ra) {
  uintptr_t cfa;
  if (tp_unlikely(s & UW_CFA_RBP)) {
    cfa = *bp + (s >> 32);
    /* A frame lies above the one it called (off rsp, the shape says so). */
    if (cfa <= *sp || cfa - *sp > UW_FRAME_MAX) return false;
  } else {
    cfa = *sp + (s >> 32);
  }
  *ra = *(const uintptr_t *)(cfa - 8);
  if (s & UW_RBP_SAVED) *bp = *(const uintptr_t *)(cfa + (int16_t)(uint16_t)(s >> 16));
  *sp = cfa;
  return true;
}

/* Offsets in the ucontext_t the kernel puts at the CFA of a signal
 * handler's frame (x86-64 Linux: uc_flags, uc_link, uc_stack, then
 * uc_mcontext.gregs): REG_RBP, REG_RSP, REG_RIP. */
#define UW_UC_RBP (40 + 8 * 10)
#define UW_UC_RSP (40 + 8 * 15)
#define UW_UC_RIP (40 + 8 * 16)

/* The step through a signal frame (shape UW_SIGNAL): to the interrupted
 * registers, its pc reported as pc + 1, a return address's place, so that
 * the shape found and the line named for it (at the address - 1) are pc's
 * own. Inline: a call in the walk's loop, however rare, cost every frame
 * of every walk registers (callgrind, `tree 12`: 3% more instructions). */
static inline __attribute__((always_inline)) int uw_signal(uintptr_t *sp, uintptr_t *bp,
                                                           uintptr_t *ra) {
  const uint8_t *uc = (const uint8_t *)*sp;
  uintptr_t pc = *(const uintptr_t *)(uc + UW_UC_RIP);
  *bp = *(const uintptr_t *)(uc + UW_UC_RBP);
  *sp = *(const uintptr_t *)(uc + UW_UC_RSP);
  *ra = pc + 1;
  return pc != 0;
}

/* One step up with the shape s from the table: 1, a frame; 0, the end of
 * the chain; -1, a shape or CFA this unwinder does not follow. */
static inline __attribute__((always_inline)) int uw_step(uint64_t s, uintptr_t *sp, uintptr_t *bp,
                                                         uintptr_t *ra) {
  if (tp_unlikely(s & (UW_UNKNOWN | UW_SIGNAL))) return s & UW_UNKNOWN ? -1 : uw_signal(sp, bp, ra);
  if (s & UW_LAST) return 0;
  if (!uw_frame(s, sp, bp, ra)) return -1;
  return *ra != 0; /* 0: the end of the chain, as libunwind sees it */
}

/* The memo's step j, of CFA cfa: that CFA's slot in at_cfa points to it. */
static inline __attribute__((always_inline)) void mark_cfa(tp_uw_memo_t *m, int j, uintptr_t cfa) {
  m->at_cfa[(cfa >> 4) & (TP_UW_CFA_SLOTS - 1)] = (uint8_t)j;
}

/* Steps into the memo from step[at] on, marked. (The CFA from the source:
 * read back from the step just stored, it waited for the store.) */
static inline __attribute__((always_inline)) void put_steps(tp_uw_memo_t *m, int at,
                                                            const tp_uw_step_t *src, int cnt) {
  for (int i = 0; i < cnt; i++) {
    m->step[at + i] = src[i];
    mark_cfa(m, at + i, src[i].cfa);
  }
}

/* The walk, with a memo of the last one, in three ways.
 *
 * The caller's own frames (the memo's prefix) first, as one piece: the
 * same return addresses at the same distances from the stack pointer,
 * each one load and compare.
 *
 * From there: a frame's shape depends only on the address it returns to,
 * so while this walk's return addresses are the last walk's, its next
 * frame has the last walk's shape there, without a look in the table (the
 * innermost frames of a program that allocates at several depths of one
 * recursion repeat). The step's chain is then an add: the load of the
 * return address is only compared.
 *
 * Then: after each step, if the step's result (the CFA, the return address
 * read below it, rbp after it) is one the last walk had, both walks are in
 * the same state, and every later step of the last walk holds again as
 * long as the words it read are unchanged. Those are compared in order,
 * each at an address the walk itself would read next (so the memo reads
 * nothing a plain walk would not), and their loads do not wait on each
 * other as a walk's do. At the first word that changed, or past the last
 * walk's end, the walk goes on from there by itself (one such splice per
 * walk). */
__attribute__((noinline)) int tp_unwind(uintptr_t *ips, int max, tp_uw_memo_t *memo, bool *same) {
  uintptr_t pc, sp, bp, ra = 0;
  /* This frame's registers, all read at one instruction, whose row of
   * this function's call frame information describes them. */
  __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
                   : "=r"(pc), "=r"(sp), "=r"(bp));
  /* The table's generation: gen0 as the walk found it (the memo's: a walk
   * that saw an object go away leaves a memo no walk replays). */
  uint64_t gen0 = atomic_load_explicit(&uw_gen, memory_order_relaxed), gen = gen0;
  int n = 0, r = 1;
  uint64_t shapes = 0; /* the walked steps' shapes, or-ed */
  /* look is kept in a register: read back from ips, each frame would wait
   * for a store to be forwarded. */
  uintptr_t look = pc + 1;
  if (!memo || max > TP_UW_MEMO_STEPS) {
    while (n < max && (r = uw_step(shape_of(look, &gen), &sp, &bp, &ra)) > 0) ips[n++] = look = ra;
    return r < 0 ? -1 - n : n;
  }
  /* The steps walked here, in this frame: written into the memo only at
   * the end, with the last walk's steps this one kept. Stored into the
   * memo as the walk goes, they made a step's load of the stack wait
   * whenever the two addresses agreed in their low 12 bits, which
   * depends on where the stack lies (the environment's size): a 20%
   * swing between two paths to the same program. walked[0] is the step
   * after the prefix (below) when this walk takes it. */
  tp_uw_step_t walked[TP_UW_MEMO_STEPS];
  tp_uw_step_t *prev = memo->step + memo->off;
  bool valid = memo->gen == gen0;
  int pn = valid ? memo->n : 0, mp = valid ? memo->pre : 0;
  /* The caller's own frames first (the last walk's prefix), as one piece:
   * each return address at the last walk's CFA moved by as much as the
   * stack pointer moved. A frame's shape follows from the return address
   * into it; while those are the same, so are the shapes (rsp-based, all
   * of them) and so each next CFA. */
  uintptr_t sp0 = sp;
  int pre = 0, lead = 0;
  bool replay = true;
  if (mp > 0) {
    replay = false;
    const tp_uw_step_t *ps = memo->pstep;
    uintptr_t d = sp - memo->sp0;
    int i = 0;
    for (; i < mp && i < max; i++) {
      ips[i] = ps[i].ra;
      if (*(const uintptr_t *)(ps[i].cfa + d - 8) != ps[i].ra) break;
    }
    lead = i;
    if (i == mp) {
      pre = n = mp;
      sp = ps[mp - 1].cfa + d;
      look = ps[mp - 1].ra;
      if (memo->pre_bp >= 0) {
        const tp_uw_step_t *b = &ps[memo->pre_bp];
        bp = *(const uintptr_t *)(b->cfa + d + (int16_t)(uint16_t)(b->shape >> 16));
      }
      replay = true;
    }
  }
  /* From there: the last walk's shapes, while its return addresses hold
   * (its first step is this one's, from the same frame and pc). */
  if (replay) {
    for (int lim = pre + (pn < max - pre ? pn : max - pre); n < lim;) {
      /* A memo's step: its shape is neither unknown nor the last, its
       * return address not 0. */
      const tp_uw_step_t *p = &prev[n - pre];
      if (!uw_frame(p->shape, &sp, &bp, &ra)) {
        r = -1;
        break;
      }
      if (tp_unlikely(ra != p->ra)) {
        replay = false;
        if (ra == 0) { /* the end of the chain */
          r = 0;
          break;
        }
      }
      walked[n - pre] = (tp_uw_step_t){ra, sp, bp, p->shape};
      shapes |= p->shape;
      ips[n++] = look = ra;
      if (!replay) break;
    }
    /* Return addresses the last walk had in the same places, from the start. */
    lead = n - (!replay && r > 0);
  }
  /* Then by itself, looking for a state of the last walk after each step
   * that is not the last walk's own (one splice per walk). */
  /* The new walk is walked[0..w1), then prev[kept_from..kept_to), then walked[w1..w). */
  int w = n - pre, k, w1 = -1, kept_from = 0, kept_to = 0;
  for (bool check = !replay && w > 0; r > 0; check = true) {
    if (check && w1 < 0) {
      const tp_uw_step_t *at = &walked[w - 1];
      /* The last walk's step with this CFA, if any, in one look (a search
       * along the last walk's rising CFAs ended after a number of steps
       * that changes from get to get: two mispredicted branches a get on
       * `tree`). */
      k = memo->at_cfa[(at->cfa >> 4) & (TP_UW_CFA_SLOTS - 1)] - memo->off;
      if ((unsigned)k < (unsigned)pn && prev[k].cfa == at->cfa && prev[k].ra == at->ra &&
          prev[k].bp == at->bp) {
        /* The same state as the last walk after its step k: its later
         * steps hold while the words they read are unchanged. */
        w1 = w;
        kept_from = k + 1;
        /* One bound, one step: pointers, the counts after. */
        const tp_uw_step_t *p = prev + kept_from;
        const tp_uw_step_t *pe = pn - kept_from < max - n ? prev + pn : p + (max - n);
        uintptr_t *q = ips + n;
        if (memo->cfa_rbp) {
          for (; p < pe; p++, q++) {
            if (*(const uintptr_t *)(p->cfa - 8) != p->ra ||
                ((p->shape & UW_RBP_SAVED) &&
                 *(const uintptr_t *)(p->cfa + (int16_t)(uint16_t)(p->shape >> 16)) != p->bp))
              break;
            *q = p->ra;
          }
        } else { /* no CFA from rbp: the return addresses alone */
          for (; p < pe; p++, q++) {
            uintptr_t a = p->ra;
            if (*(const uintptr_t *)(p->cfa - 8) != a) break;
            *q = a;
          }
        }
        kept_to = (int)(p - prev);
        n = (int)(q - ips);
        if (kept_to > kept_from) {
          tp_uw_step_t *last = &prev[kept_to - 1], *sv = last;
          look = last->ra;
          sp = last->cfa;
          if (memo->cfa_rbp) {
            bp = last->bp; /* compared, where saved */
          } else {
            /* rbp as the walk would have it: from the last kept step that
             * restores it (its CFA holds), else as the splice found it;
             * kept steps from there on record it, for a walk that goes on
             * from them or splices there. */
            bp = at->bp;
            while (sv >= prev + kept_from && !(sv->shape & UW_RBP_SAVED)) sv--;
            if (sv >= prev + kept_from) {
              bp = *(const uintptr_t *)(sv->cfa + (int16_t)(uint16_t)(sv->shape >> 16));
              for (; sv <= last; sv++) sv->bp = bp;
            }
          }
        }
      }
    }
    if (n >= max) break;
    uint64_t s = shape_of(look, &gen);
    if ((r = uw_step(s, &sp, &bp, &ra)) <= 0) break;
    walked[w++] = (tp_uw_step_t){ra, sp, bp, s};
    shapes |= s;
    ips[n++] = look = ra;
  }
  /* A walk through a signal frame leaves no memo: its steps are not all
   * frames of one stack. */
  if (r < 0 || (shapes & UW_SIGNAL)) {
    memo->n = memo->lead = memo->pre = 0;
    return r < 0 ? -1 - n : n;
  }
  if (w1 < 0) w1 = w;
  /* A walk that did not take the last prefix makes its own: its first
   * steps into the caller's code (before any kept step), rsp-based. */
  int np = 0;
  if (!pre) {
    int nb = -1;
    for (; np < w1 && np < TP_UW_PRE_MAX &&
           walked[np].ra - memo->self_lo < memo->self_hi - memo->self_lo &&
           !(walked[np].shape & UW_CFA_RBP);
         np++)
      if (walked[np].shape & UW_RBP_SAVED) nb = np;
    memcpy(memo->pstep, walked, (size_t)np * sizeof *walked);
    memo->pre = np;
    memo->pre_bp = nb;
    memo->sp0 = sp0;
  }
  /* The new memo: walked[np..w1), the kept steps, walked[w1..w). The kept
   * steps stay in place when there is room in front of them for the new
   * inner ones (the last walk's steps there are read no more); else all
   * move to the middle. */
  int un = n - pre - np, uw1 = w1 - np;
  int kept = kept_to - kept_from, off = memo->off + kept_from - uw1;
  if (!kept || off < 0 || off + un > TP_UW_MEMO_ROOM) {
    off = (TP_UW_MEMO_ROOM - un) / 2;
    if (kept) {
      memmove(memo->step + off + uw1, prev + kept_from, (size_t)kept * sizeof *prev);
      for (int j = off + uw1; j < off + uw1 + kept; j++) mark_cfa(memo, j, memo->step[j].cfa);
    }
  }
  put_steps(memo, off, walked + np, uw1);
  if (w > w1) put_steps(memo, off + uw1 + kept, walked + w1, w - w1);
  /* Its return addresses, all of them, are the last walk's. */
  *same = replay && mp + pn > 0 && n == mp + pn; /* (replay: the prefix, if any, was taken) */
  memo->off = off;
  memo->n = un;
  memo->gen = gen0;
  memo->lead = lead;
  /* (The kept steps' shapes are the last walk's: counted in its flag.) */
  memo->cfa_rbp = (shapes & UW_CFA_RBP) || (kept && memo->cfa_rbp);
  return n;
}
#else
/* The shapes above are x86-64's (its DWARF register numbers, its return
 * address at CFA - 8): elsewhere libunwind walks every stack. */
void tp_unwind_init(void *mem) { (void)mem; }
size_t tp_unwind_slots(void) { return 0; }
void tp_unwind_touch(void) {}

int tp_unwind(uintptr_t *ips, int max, tp_uw_memo_t *memo, bool *same) {
  (void)ips;
  (void)max;
  (void)memo;
  (void)same;
  return -1;
}
#endif
