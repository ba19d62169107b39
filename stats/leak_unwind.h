/* leak_unwind.h - the capture's own unwinder (see leak_unwind.c). */
#ifndef TP_STATS_LEAK_UNWIND_H
#define TP_STATS_LEAK_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Most frames a walk that uses a memo may ask for. */
#define TP_UW_MEMO_STEPS 80
/* Room for the last walk's steps to move within: a new walk that keeps the
 * last one's outer steps writes only its own inner ones, in front of them.
 * About three walks; what two pages hold besides the prefix and at_cfa. */
#define TP_UW_MEMO_ROOM 228
/* at_cfa's slots: a CFA's bits 4 to 11 (CFAs are 16-byte aligned at calls,
 * so the frames of any 4 KiB of stack have a slot each). */
#define TP_UW_CFA_SLOTS 256

/* Most steps a memo's prefix holds (the caller's own frames). */
#define TP_UW_PRE_MAX 16

/* One step of a walk: the return address it read, the CFA it read it
 * below, rbp after the step, and the frame's shape. */
typedef struct tp_uw_step_s {
  uintptr_t ra, cfa, bp;
  uint64_t shape;
} tp_uw_step_t;

/* A thread's memory of its last walk: step[off .. off + n), innermost
 * first. Consecutive stacks of a thread mostly share their outer frames;
 * a walk that reaches a frame state of the last walk checks the memory the
 * last walk read from there on (independent loads, no table lookups)
 * instead of walking it again, and those steps stay where they are. id and
 * epoch are the caller's: the stack the last walk was interned as. */
typedef struct tp_uw_memo_s {
  uint64_t gen; /* the shape table's generation of the last walk */
  int off, n;   /* step[off .. off + n): the last walk after its prefix */
  /* The prefix: the first pre steps of the last walk, those that return
   * into the caller's own code (self_lo .. self_hi, the caller's to set;
   * empty: none): the same few frames at every capture, wherever the
   * stack lies. Their CFAs are those of the walk that found them, whose
   * stack pointer was sp0; a walk whose own return addresses there are the
   * same takes them with one load and compare each. pre_bp: the last of
   * them that saves rbp (-1: none). */
  int pre, pre_bp;
  uintptr_t sp0, self_lo, self_hi;
  tp_uw_step_t pstep[TP_UW_PRE_MAX];
  int lead; /* the first return addresses of the last walk that were the one's before */
  /* Some step of the last walk computes its CFA from rbp (perhaps): else a
   * kept step's saved rbp needs no compare, as no kept CFA is read from it. */
  int cfa_rbp;
  int busy; /* the caller's: in use (a signal handler's capture goes without) */
  int skip; /* the caller's: leading frames of its own it dropped from the last walk */
  uint32_t id, epoch;
  /* Where in step[] the step with a given CFA was last written (its slot:
   * (cfa >> 4) % TP_UW_CFA_SLOTS): a hint, checked against the step, that
   * finds the last walk's state in one look. A slot a step of another CFA
   * took, or one left from an older walk, only misses a splice. */
  uint8_t at_cfa[TP_UW_CFA_SLOTS];
  tp_uw_step_t step[TP_UW_MEMO_ROOM];
} tp_uw_memo_t;

/* Two pages a thread (docs/leaks.md, "Capture"). */
_Static_assert(sizeof(tp_uw_memo_t) <= 8192, "a memo fits two pages");
_Static_assert(TP_UW_MEMO_ROOM <= 255, "at_cfa holds a step's place in a byte");

/* The tables of frame shapes, the first and the ones it grows into:
 * TP_UW_TABLE_BYTES of zeroed memory at mem (page-aligned), the caller's. */
#define TP_UW_TABLE_BYTES \
  (((size_t)16 << 8) + ((size_t)16 << 10) + ((size_t)16 << 12) + ((size_t)16 << 14) + ((size_t)16 << 15))
void tp_unwind_init(void *mem);
/* Slots of the table in use (it grows; for tests). */
size_t tp_unwind_slots(void);
/* Before a walk that may be the process's first: the first table's page
 * written (see leak_unwind.c). */
void tp_unwind_touch(void);
/* The return addresses of the caller's stack, innermost first, as
 * unw_backtrace gives them (its caller's return address first), at most
 * max; -1 - k when a frame has a shape this unwinder does not follow (ask
 * libunwind), ips[0 .. k) being the frames before it. Through a signal
 * frame, the interrupted pc is given as pc + 1 (libunwind gives pc): the
 * place of a return address, whose line is that of the address - 1. Safe
 * in any thread, a signal handler's included; never allocates. With a memo (NULL for
 * none; one walk at a time uses it), *same tells whether the return
 * addresses are the memo's last walk's, all of them (the same stack to a
 * capture, wherever it lies). */
int tp_unwind(uintptr_t *ips, int max, tp_uw_memo_t *memo, bool *same);

#pragma GCC visibility pop

#endif
