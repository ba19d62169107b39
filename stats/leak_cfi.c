/* leak_cfi.c - the shape of a frame, from its module's DWARF call frame
 * information: .eh_frame, found through .eh_frame_hdr and _dl_find_object,
 * its CIE's and FDE's instructions run up to the code address. Only the
 * rules leak_unwind.c follows are read (leak_cfi.h); anything else is
 * "unknown", and the capture asks libunwind. */
#include <link.h>
#include <stdbool.h>
#include <string.h>

#include "leak_cfi.h"

#pragma weak _dl_find_object

#if defined(__x86_64__)

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

uint64_t tp_cfi_shape(uintptr_t pc) {
  tp_rd_t f;
  if (!find_fde(pc, &f)) return UW_VALID | UW_UNKNOWN;
  f.p += 4;
  const uint8_t *cie_ptr = f.p;
  uint32_t cie_off = (uint32_t)rd_fixed(&f, 4);
  tp_cie_t c;
  if (cie_off == 0 || !read_cie(cie_ptr - cie_off, &c)) return UW_VALID | UW_UNKNOWN;
  /* A signal frame ("S"): followed when it is the kernel's return path,
   * glibc's __restore_rt, `mov $15, %rax; syscall` (rt_sigreturn) at pc + 1
   * (its FDE starts a byte early, for this lookup of a return address - 1). */
  if (c.signal) {
    static const uint8_t restore_rt[9] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
    return UW_VALID | (memcmp((const void *)(pc + 1), restore_rt, sizeof restore_rt) == 0
                           ? UW_SIGNAL : UW_UNKNOWN);
  }
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

#endif
