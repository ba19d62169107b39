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
 * information of its module (.eh_frame, found through .eh_frame_hdr and
 * _dl_find_object), and keeps it in a lock-free table; a frame is then a
 * lookup and two loads. Anything else (a signal frame, a CFA or register
 * rule that is an expression or uses another register, code without call
 * frame information, an unusual encoding) makes tp_unwind give up, and
 * the capture asks libunwind for the whole stack: the frames are either
 * the ones libunwind would give or libunwind's own. On other machines
 * libunwind walks every stack.
 *
 * A thread's consecutive stacks mostly share their outer frames; with a
 * memo of its last walk (tp_uw_memo_t), a walk that reaches a frame of the
 * last one only checks that the words the last walk read from there on
 * still hold (see tp_unwind).
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
#include "leak_unwind.h"
#include "os.h"

#pragma weak _dl_find_object

#if defined(__x86_64__)

/* A shape, packed in one word: CFA offset (32 bits), rbp's save offset
 * (16), flags (16). */
#define UW_VALID 1u       /* a computed shape (an empty slot reads 0) */
#define UW_LAST 2u        /* the return address is undefined: the outermost frame */
#define UW_UNKNOWN 4u     /* not a shape this unwinder follows */
#define UW_CFA_RBP 8u     /* CFA = rbp + offset (else rsp + offset) */
#define UW_RBP_SAVED 16u  /* rbp is restored from CFA + its offset */

/* The largest frame followed: a CFA further than this above the stack
 * pointer is a wrong shape (or a frame libunwind may judge). */
#define UW_FRAME_MAX ((uintptr_t)1 << 24)

#define UW_SLOTS (1u << 15)
#define UW_PROBES 16
#define UW_CLAIM (1ull << 63) /* a slot being written */

/* Slot i: uw_keys[i] = (generation << 48) | return address (0: empty),
 * uw_shapes[i] its shape. Two arrays, not one of pairs: a frame's chain of
 * dependent steps is then one mask and a scaled load (an index of 16-byte
 * pairs costs a shift and an add more). */
static _Atomic uint64_t *uw_keys, *uw_shapes;
static _Atomic uint64_t uw_gen; /* the loader's removals seen, low 15 bits */

bool tp_unwind_init(void) {
  uw_keys = tp_os_map(2 * sizeof(uint64_t) * UW_SLOTS, true);
  uw_shapes = uw_keys ? uw_keys + UW_SLOTS : NULL;
  return uw_keys != NULL;
}

/* ------------------------------------------------------------ reading */

typedef struct tp_rd_s {
  const uint8_t *p, *end;
  bool bad;
} tp_rd_t;

static uint64_t rd_uleb(tp_rd_t *r) {
  uint64_t v = 0;
  for (unsigned shift = 0; r->p < r->end; shift += 7) {
    uint8_t b = *r->p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  r->bad = true;
  return 0;
}

static int64_t rd_sleb(tp_rd_t *r) {
  uint64_t v = 0;
  unsigned shift = 0;
  while (r->p < r->end) {
    uint8_t b = *r->p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      if (shift < 64 && (b & 0x40)) v |= ~0ull << shift;
      return (int64_t)v;
    }
  }
  r->bad = true;
  return 0;
}

static uint64_t rd_fixed(tp_rd_t *r, unsigned n) {
  uint64_t v = 0;
  if ((size_t)(r->end - r->p) < n) {
    r->bad = true;
    return 0;
  }
  memcpy(&v, r->p, n); /* little-endian */
  r->p += n;
  return v;
}

/* A pointer in DWARF's encoding enc: absolute or relative to where it is
 * read (pcrel); other bases are not needed for FDEs and make it bad. */
static uint64_t rd_ptr(tp_rd_t *r, uint8_t enc) {
  const uint8_t *at = r->p;
  uint64_t v;
  switch (enc & 0x0f) {
  case 0x00: v = rd_fixed(r, 8); break;                                 /* absptr */
  case 0x01: v = rd_uleb(r); break;                                     /* uleb128 */
  case 0x02: v = rd_fixed(r, 2); break;                                 /* udata2 */
  case 0x03: v = rd_fixed(r, 4); break;                                 /* udata4 */
  case 0x04: case 0x0c: v = rd_fixed(r, 8); break;                      /* u/sdata8 */
  case 0x09: v = (uint64_t)rd_sleb(r); break;                           /* sleb128 */
  case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2); break;     /* sdata2 */
  case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4); break;     /* sdata4 */
  default: r->bad = true; return 0;
  }
  switch (enc & 0x70) {
  case 0x00: return v;
  case 0x10: return v + (uintptr_t)at;
  default: r->bad = true; return 0;
  }
}

/* ------------------------------------------------------------ finding the FDE */

/* The FDE that covers pc, through the module's .eh_frame_hdr (its sorted
 * table of initial locations, in the encoding every linker writes); the
 * FDE's bytes in *fde. False if none. */
static bool find_fde(uintptr_t pc, tp_rd_t *fde) {
  struct dl_find_object fo;
  if (!_dl_find_object || _dl_find_object((void *)pc, &fo) != 0 || !fo.dlfo_eh_frame)
    return false;
  const uint8_t *hdr = fo.dlfo_eh_frame;
  /* version 1; eh_frame_ptr pcrel sdata4, count udata4, table datarel sdata4 */
  if (hdr[0] != 1 || hdr[1] != 0x1b || hdr[2] != 0x03 || hdr[3] != 0x3b) return false;
  uint32_t count;
  memcpy(&count, hdr + 8, 4);
  const int32_t *tab = (const int32_t *)(hdr + 12);
  intptr_t rel = (intptr_t)(pc - (uintptr_t)hdr);
  if (count == 0 || rel < tab[0]) return false;
  uint32_t lo = 0, hi = count; /* the last entry with initial location <= pc */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (tab[2 * mid] <= rel) lo = mid;
    else hi = mid;
  }
  const uint8_t *f = hdr + tab[2 * lo + 1];
  uint32_t len;
  memcpy(&len, f, 4);
  if (len == 0 || len == 0xffffffffu) return false; /* terminator; 64-bit DWARF */
  fde->p = f;
  fde->end = f + 4 + len;
  fde->bad = false;
  return true;
}

/* ------------------------------------------------------------ the rules */

enum { HOW_SAME, HOW_OFFSET, HOW_UNDEF, HOW_OTHER };

typedef struct tp_rules_s {
  int cfa_reg;      /* DWARF number; -1: an expression */
  int64_t cfa_off;
  uint8_t rbp_how, ra_how;
  int64_t rbp_off, ra_off;
} tp_rules_t;

#define R_RBP 6
#define R_RSP 7
#define R_RA 16

typedef struct tp_cie_s {
  uint64_t code_align;
  int64_t data_align;
  uint8_t fde_enc;
  bool z;      /* augmentation data in the CIE and each FDE */
  bool signal; /* a signal frame: its pc is not a return address */
  tp_rd_t insns;
} tp_cie_t;

static void set_rule(tp_rules_t *s, uint64_t reg, uint8_t how, int64_t off, bool *unknown) {
  if (reg == R_RBP) {
    s->rbp_how = how;
    s->rbp_off = off;
  } else if (reg == R_RA) {
    s->ra_how = how;
    s->ra_off = off;
  } else if (reg == R_RSP && how != HOW_SAME) {
    *unknown = true; /* the caller's rsp is the CFA in every frame we follow */
  }
}

/* Runs call frame instructions up to (and including the row of) pc; the
 * CIE's are run with pc = UINTPTR_MAX and its result kept in init for
 * DW_CFA_restore. False on anything not understood. */
static bool run(tp_rd_t *r, const tp_cie_t *c, uintptr_t loc, uintptr_t pc, tp_rules_t *s,
                const tp_rules_t *init) {
  tp_rules_t stack[8];
  unsigned depth = 0;
  bool unknown = false;
  while (r->p < r->end && !r->bad && !unknown) {
    uint8_t op = *r->p++;
    uint64_t reg, adv = 0;
    switch (op >> 6) {
    case 1: adv = op & 0x3f; break;                                                /* advance_loc */
    case 2: set_rule(s, op & 0x3f, HOW_OFFSET, (int64_t)rd_uleb(r) * c->data_align, &unknown); continue;
    case 3: /* restore */
      if (!init) return false;
      reg = op & 0x3f;
      if (reg == R_RBP) s->rbp_how = init->rbp_how, s->rbp_off = init->rbp_off;
      if (reg == R_RA) s->ra_how = init->ra_how, s->ra_off = init->ra_off;
      continue;
    default: break;
    }
    if (op < 0x40) switch (op) {
      case 0x00: break;                                                           /* nop */
      case 0x02: adv = rd_fixed(r, 1); break;
      case 0x03: adv = rd_fixed(r, 2); break;
      case 0x04: adv = rd_fixed(r, 4); break;
      case 0x05: reg = rd_uleb(r); set_rule(s, reg, HOW_OFFSET, (int64_t)rd_uleb(r) * c->data_align, &unknown); break;
      case 0x06: /* restore_extended */
        reg = rd_uleb(r);
        if (!init) return false;
        if (reg == R_RBP) s->rbp_how = init->rbp_how, s->rbp_off = init->rbp_off;
        if (reg == R_RA) s->ra_how = init->ra_how, s->ra_off = init->ra_off;
        break;
      case 0x07: set_rule(s, rd_uleb(r), HOW_UNDEF, 0, &unknown); break;         /* undefined */
      case 0x08: set_rule(s, rd_uleb(r), HOW_SAME, 0, &unknown); break;          /* same_value */
      case 0x09: reg = rd_uleb(r); rd_uleb(r); set_rule(s, reg, HOW_OTHER, 0, &unknown); break;
      case 0x0a: if (depth == 8) return false; stack[depth++] = *s; break;        /* remember */
      case 0x0b: if (depth == 0) return false; *s = stack[--depth]; break;        /* restore */
      case 0x0c: s->cfa_reg = (int)rd_uleb(r); s->cfa_off = (int64_t)rd_uleb(r); break;
      case 0x0d: s->cfa_reg = (int)rd_uleb(r); break;
      case 0x0e: s->cfa_off = (int64_t)rd_uleb(r); break;
      case 0x0f: s->cfa_reg = -1; r->p += rd_uleb(r); break;                     /* def_cfa_expression */
      case 0x10: case 0x16: /* expression, val_expression */
        reg = rd_uleb(r);
        r->p += rd_uleb(r);
        set_rule(s, reg, HOW_OTHER, 0, &unknown);
        break;
      case 0x11: reg = rd_uleb(r); set_rule(s, reg, HOW_OFFSET, rd_sleb(r) * c->data_align, &unknown); break;
      case 0x12: s->cfa_reg = (int)rd_uleb(r); s->cfa_off = rd_sleb(r) * c->data_align; break;
      case 0x13: s->cfa_off = rd_sleb(r) * c->data_align; break;
      case 0x14: case 0x15: /* val_offset(_sf) */
        reg = rd_uleb(r);
        if (op == 0x14) rd_uleb(r); else rd_sleb(r);
        set_rule(s, reg, HOW_OTHER, 0, &unknown);
        break;
      case 0x2e: rd_uleb(r); break;                                              /* GNU_args_size */
      case 0x2f: reg = rd_uleb(r); set_rule(s, reg, HOW_OFFSET, -(int64_t)rd_uleb(r) * c->data_align, &unknown); break;
      default: return false; /* set_loc and anything newer */
      }
    if (adv) {
      loc += adv * c->code_align;
      if (loc > pc) break;
    }
  }
  if (r->p > r->end) r->bad = true;
  return !r->bad && !unknown;
}

/* Reads the CIE an FDE points to. */
static bool read_cie(const uint8_t *at, tp_cie_t *c) {
  uint32_t len, id;
  memcpy(&len, at, 4);
  if (len == 0 || len == 0xffffffffu) return false;
  tp_rd_t r = {at + 4, at + 4 + len, false};
  id = (uint32_t)rd_fixed(&r, 4);
  uint8_t version = (uint8_t)rd_fixed(&r, 1);
  if (id != 0 || (version != 1 && version != 3)) return false;
  const char *aug = (const char *)r.p;
  size_t alen = strnlen(aug, (size_t)(r.end - r.p));
  r.p += alen + 1;
  c->code_align = rd_uleb(&r);
  c->data_align = rd_sleb(&r);
  uint64_t ra = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
  if (ra != R_RA) return false;
  c->fde_enc = 0x00;
  c->signal = false;
  c->z = aug[0] == 'z';
  if (c->z) {
    uint64_t n = rd_uleb(&r);
    const uint8_t *data_end = r.p + n;
    for (size_t i = 1; i < alen && !r.bad; i++) {
      switch (aug[i]) {
      case 'L': rd_fixed(&r, 1); break;
      case 'R': c->fde_enc = (uint8_t)rd_fixed(&r, 1); break;
      case 'S': c->signal = true; break;
      case 'P': {
        uint8_t enc = (uint8_t)rd_fixed(&r, 1);
        rd_ptr(&r, enc & 0x0f); /* its size only (its base may be one we do not read) */
        break;
      }
      default: return false;
      }
    }
    r.p = data_end;
  } else if (alen) {
    return false;
  }
  c->insns = r;
  return !r.bad && r.p <= r.end;
}

/* The shape of the frame that is executing at pc. */
static uint64_t compute_shape(uintptr_t pc) {
  tp_rd_t f;
  if (!find_fde(pc, &f)) return UW_VALID | UW_UNKNOWN;
  f.p += 4;
  const uint8_t *cie_ptr = f.p;
  uint32_t cie_off = (uint32_t)rd_fixed(&f, 4);
  tp_cie_t c;
  if (cie_off == 0 || !read_cie(cie_ptr - cie_off, &c) || c.signal) return UW_VALID | UW_UNKNOWN;
  uintptr_t begin = (uintptr_t)rd_ptr(&f, c.fde_enc);
  uintptr_t range = (uintptr_t)rd_ptr(&f, c.fde_enc & 0x0f);
  if (f.bad || pc - begin >= range) return UW_VALID | UW_UNKNOWN;
  /* rbp is callee-saved (same value) unless a rule says otherwise; the
   * return address has no rule until the CIE gives one: only an explicit
   * DW_CFA_undefined marks the outermost frame. */
  tp_rules_t init = {R_RSP, 8, HOW_SAME, HOW_OTHER, 0, 0}, s;
  if (!run(&c.insns, &c, 0, UINTPTR_MAX, &init, NULL)) return UW_VALID | UW_UNKNOWN;
  s = init;
  if (c.z) f.p += rd_uleb(&f); /* the FDE's augmentation data (its LSDA) */
  if (!run(&f, &c, begin, pc, &s, &init)) return UW_VALID | UW_UNKNOWN;
  uint64_t flags = UW_VALID;
  if (s.ra_how == HOW_UNDEF) return flags | UW_LAST;
  if ((s.cfa_reg != R_RSP && s.cfa_reg != R_RBP) || s.ra_how != HOW_OFFSET || s.ra_off != -8 ||
      (s.rbp_how != HOW_SAME && s.rbp_how != HOW_OFFSET) || s.cfa_off < 0 ||
      s.cfa_off > INT32_MAX || s.rbp_off < INT16_MIN || s.rbp_off > INT16_MAX)
    return flags | UW_UNKNOWN;
  /* A CFA off rsp lies above the return address and within UW_FRAME_MAX
   * of rsp: uw_frame then checks only CFAs off rbp. */
  if (s.cfa_reg == R_RSP && (s.cfa_off < 8 || s.cfa_off > (int64_t)UW_FRAME_MAX))
    return flags | UW_UNKNOWN;
  if (s.cfa_reg == R_RBP) flags |= UW_CFA_RBP;
  if (s.rbp_how == HOW_OFFSET) flags |= UW_RBP_SAVED;
  return (uint64_t)(uint32_t)s.cfa_off << 32 | (uint64_t)(uint16_t)(int16_t)s.rbp_off << 16 | flags;
}

/* ------------------------------------------------------------ the table */

/* The loader's count of unloaded objects (low 15 bits), read from the
 * first object dl_iterate_phdr shows. */
static int read_subs(struct dl_phdr_info *info, size_t size, void *arg) {
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
    *(uint64_t *)arg = info->dlpi_subs & 0x7fff;
  return 1;
}

/* The shape of the frame that returns to ra, from the table or computed
 * and added: that of ra - 1, the call instruction's last byte (a call may
 * be a function's last instruction). The table keys on ra itself, which
 * keeps a subtraction out of every frame's chain of dependent steps. */
static __attribute__((noinline)) uint64_t shape_slow(uintptr_t ra, uint64_t *genp) {
  uint64_t gen = *genp;
  size_t h = (size_t)ra, free_slot = SIZE_MAX;
  if (ra >> 48) return compute_shape(ra - 1); /* beyond the key's 48 bits: not kept */
  for (unsigned probe = 0; probe < UW_PROBES; probe++) {
    size_t i = (h + probe) & (UW_SLOTS - 1);
    uint64_t k = atomic_load_explicit(&uw_keys[i], memory_order_acquire);
    if (k == (gen << 48 | ra)) return atomic_load_explicit(&uw_shapes[i], memory_order_relaxed);
    if (k == 0 || (!(k & UW_CLAIM) && (k >> 48) != gen)) { /* empty, or of an older generation */
      free_slot = (h + probe) & (UW_SLOTS - 1);
      break;
    }
  }
  /* A miss: first make sure no object went away since the table was filled. */
  uint64_t subs = gen;
  dl_iterate_phdr(read_subs, &subs);
  if (subs != gen) {
    atomic_store_explicit(&uw_gen, subs, memory_order_relaxed);
    *genp = subs;
    return compute_shape(ra - 1); /* the next capture fills the table again */
  }
  uint64_t shape = compute_shape(ra - 1);
  if (free_slot != SIZE_MAX) {
    _Atomic uint64_t *key = &uw_keys[free_slot];
    uint64_t k = atomic_load_explicit(key, memory_order_relaxed);
    if ((k == 0 || (!(k & UW_CLAIM) && (k >> 48) != gen)) &&
        atomic_compare_exchange_strong(key, &k, UW_CLAIM | gen << 48 | ra)) {
      atomic_store_explicit(&uw_shapes[free_slot], shape, memory_order_relaxed);
      atomic_store_explicit(key, gen << 48 | ra, memory_order_release);
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
  size_t i = (size_t)ra & (UW_SLOTS - 1);
  if (atomic_load_explicit(&uw_keys[i], memory_order_acquire) == (*gen << 48 | ra))
    return atomic_load_explicit(&uw_shapes[i], memory_order_relaxed);
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

/* One step up with the shape s from the table: 1, a frame; 0, the end of
 * the chain; -1, a shape or CFA this unwinder does not follow. */
static inline __attribute__((always_inline)) int uw_step(uint64_t s, uintptr_t *sp, uintptr_t *bp,
                                                         uintptr_t *ra) {
  if (s & UW_UNKNOWN) return -1;
  if (s & UW_LAST) return 0;
  if (!uw_frame(s, sp, bp, ra)) return -1;
  return *ra != 0; /* 0: the end of the chain, as libunwind sees it */
}

/* The walk, with a memo of the last one, in two ways.
 *
 * From the start: a frame's shape depends only on the address it returns
 * to, so while this walk's return addresses are the last walk's, its next
 * frame has the last walk's shape there, without a look in the table (the
 * allocator's own frames, and the innermost frames of a program that
 * allocates at several depths of one recursion, repeat). The step's chain
 * is then an add: the load of the return address is only compared.
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
  /* look is kept in a register: read back from ips, each frame would wait
   * for a store to be forwarded. */
  uintptr_t look = pc + 1;
  if (!memo || max > TP_UW_MEMO_STEPS) {
    while (n < max && (r = uw_step(shape_of(look, &gen), &sp, &bp, &ra)) > 0) ips[n++] = look = ra;
    return r < 0 ? -1 : n;
  }
  /* The steps walked here, in this frame: written into the memo only at
   * the end, with the last walk's steps this one kept. Stored into the
   * memo as the walk goes, they made a step's load of the stack wait
   * whenever the two addresses agreed in their low 12 bits, which
   * depends on where the stack lies (the environment's size): a 20%
   * swing between two paths to the same program. walked[0] is the step
   * after the prefix (below) when this walk takes it. */
  tp_uw_step_t walked[TP_UW_MEMO_STEPS];
  const tp_uw_step_t *prev = memo->step + memo->off;
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
      ips[n++] = look = ra;
      if (!replay) break;
    }
    /* Return addresses the last walk had in the same places, from the start. */
    lead = n - (!replay && r > 0);
  }
  /* Then by itself, looking for a state of the last walk after each step
   * that is not the last walk's own (one splice per walk). */
  /* The new walk is walked[0..w1), then prev[kept_from..kept_to), then walked[w1..w). */
  int w = n - pre, k = 0, w1 = -1, kept_from = 0, kept_to = 0;
  bool first = true;
  for (bool check = !replay && w > 0; r > 0; check = true) {
    if (check && w1 < 0) {
      const tp_uw_step_t *at = &walked[w - 1];
      /* The last walk's first step at or above this CFA (the CFAs of a
       * walk rise). Both walks most often keep their outer frames, a frame
       * or two apart in position: start there, not at the innermost. */
      if (first) {
        first = false;
        k = w - 2 < 0 ? 0 : w - 2 > pn ? pn : w - 2;
        while (k > 0 && prev[k - 1].cfa >= at->cfa) k--;
      }
      while (k < pn && prev[k].cfa < at->cfa) k++;
      if (k < pn && prev[k].cfa == at->cfa && prev[k].ra == at->ra && prev[k].bp == at->bp) {
        /* The same state as the last walk after its step k: its later
         * steps hold while the words they read are unchanged. */
        w1 = w;
        kept_from = k + 1;
        /* One bound, one step: pointers, the counts after. */
        const tp_uw_step_t *p = prev + kept_from;
        const tp_uw_step_t *pe = pn - kept_from < max - n ? prev + pn : p + (max - n);
        uintptr_t *q = ips + n;
        for (; p < pe; p++, q++) {
          if (*(const uintptr_t *)(p->cfa - 8) != p->ra ||
              ((p->shape & UW_RBP_SAVED) &&
               *(const uintptr_t *)(p->cfa + (int16_t)(uint16_t)(p->shape >> 16)) != p->bp))
            break;
          *q = p->ra;
        }
        kept_to = (int)(p - prev);
        n = (int)(q - ips);
        if (kept_to > kept_from) {
          const tp_uw_step_t *last = &prev[kept_to - 1];
          look = last->ra;
          sp = last->cfa;
          bp = last->bp;
        }
      }
    }
    if (n >= max) break;
    uint64_t s = shape_of(look, &gen);
    if ((r = uw_step(s, &sp, &bp, &ra)) <= 0) break;
    walked[w++] = (tp_uw_step_t){ra, sp, bp, s};
    ips[n++] = look = ra;
  }
  if (r < 0) {
    memo->n = memo->lead = memo->pre = 0;
    return -1;
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
    if (kept) memmove(memo->step + off + uw1, prev + kept_from, (size_t)kept * sizeof *prev);
  }
  memcpy(memo->step + off, walked + np, (size_t)uw1 * sizeof *walked);
  if (w > w1) memcpy(memo->step + off + uw1 + kept, walked + w1, (size_t)(w - w1) * sizeof *walked);
  /* Its return addresses, all of them, are the last walk's. */
  *same = replay && pre == mp && mp + pn > 0 && n == mp + pn;
  memo->off = off;
  memo->n = un;
  memo->gen = gen0;
  memo->lead = lead;
  return n;
}
#else
/* The shapes above are x86-64's (its DWARF register numbers, its return
 * address at CFA - 8): elsewhere libunwind walks every stack. */
bool tp_unwind_init(void) { return true; }

int tp_unwind(uintptr_t *ips, int max, tp_uw_memo_t *memo, bool *same) {
  (void)ips;
  (void)max;
  (void)memo;
  (void)same;
  return -1;
}
#endif
