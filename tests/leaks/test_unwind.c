/* test_unwind.c - the capture's unwinder (stats/leak_unwind.c) against
 * libunwind, frame for frame: deep recursion without frame pointers,
 * frames whose CFA is rbp-based (alloca), libc's frames (a qsort
 * callback), another thread, a truncated walk, a signal handler (through
 * the signal frame), a function without call frame information, where it
 * must give up (-1 - k) so that the capture asks libunwind; and walks that
 * use a memo of the last walk (recursion whose paths change between walks,
 * rbp-based frames among them, changing depth limits), which must give
 * the same frames and say "same" exactly when the stack is the last one.
 *
 * Built -O2 -fomit-frame-pointer, as Debian builds the programs it runs. */
#define UNW_LOCAL_ONLY
#include <alloca.h>
#include <criterion/criterion.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "leak_unwind.h"

#define MAXF 80

typedef struct snap_s {
  int n, m;
  bool same;
  uintptr_t ours[MAXF];
  void *ref[MAXF];
} snap_t;

static void *volatile sink;
static volatile int after; /* work after a call keeps it from being a tail call */
static tp_uw_memo_t *memo; /* the walks' memo; NULL: none */

/* Both walks from one frame. Their first entries are this function's two
 * call sites, so they differ; from the caller on they must agree. */
__attribute__((noinline)) static void snap(snap_t *s, int max) {
  s->n = tp_unwind(s->ours, max, memo, &s->same);
  s->m = unw_backtrace(s->ref, max);
  sink = s;
}

static void assert_same(const snap_t *s) {
  cr_assert_gt(s->m, 2, "libunwind found %d frames", s->m);
  cr_assert_eq(s->n, s->m, "tp_unwind: %d frames, libunwind: %d", s->n, s->m);
  for (int i = 1; i < s->n; i++)
    cr_assert_eq(s->ours[i], (uintptr_t)s->ref[i], "frame %d: %#lx, libunwind %p", i,
                 (unsigned long)s->ours[i], s->ref[i]);
}

__attribute__((noinline)) static void rec(int d, snap_t *s, int max) {
  if (d == 0) snap(s, max);
  else rec(d - 1, s, max);
  after += d;
}

/* alloca makes gcc keep a frame pointer and define the CFA from rbp. */
__attribute__((noinline)) static void rec_alloca(int d, snap_t *s) {
  char *p = alloca(16 + (size_t)d * 24);
  memset(p, d, 16);
  sink = p;
  if (d == 0) snap(s, MAXF);
  else if (d % 2) rec_alloca(d - 1, s);
  else rec(1, s, MAXF); /* and back to rsp-based frames below */
  after += d;
}

Test(unwind, recursion_without_frame_pointers) {
  static snap_t s;
  for (int d = 0; d <= 60; d += 3) {
    rec(d, &s, MAXF);
    assert_same(&s);
  }
}

Test(unwind, rbp_based_frames) {
  static snap_t s;
  for (int d = 0; d <= 9; d++) {
    rec_alloca(d, &s);
    assert_same(&s);
  }
}

Test(unwind, truncated) {
  static snap_t s;
  rec(20, &s, 5);
  cr_assert_eq(s.n, 5);
  assert_same(&s);
}

static snap_t in_qsort;
static int cmp(const void *a, const void *b) {
  if (!in_qsort.m) snap(&in_qsort, MAXF);
  return *(const int *)a - *(const int *)b;
}

Test(unwind, through_libc) {
  int v[64];
  for (int i = 0; i < 64; i++) v[i] = (i * 37) % 64;
  qsort(v, 64, sizeof *v, cmp);
  assert_same(&in_qsort);
}

static void *thread_main(void *arg) {
  rec(7, arg, MAXF);
  return NULL;
}

Test(unwind, other_thread) {
  static snap_t s;
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, thread_main, &s), 0);
  pthread_join(t, NULL);
  assert_same(&s); /* ends at clone3, whose return address is undefined */
}

static snap_t in_handler;
static void on_signal(int sig) {
  (void)sig;
  rec(2, &in_handler, MAXF);
}

/* Through the kernel's signal frame to the interrupted code: libunwind's
 * frames, but for the interrupted pc, given as pc + 1 (leak_unwind.h). */
Test(unwind, signal_frame) {
  signal(SIGUSR1, on_signal);
  raise(SIGUSR1);
  const snap_t *s = &in_handler;
  cr_assert_gt(s->m, 5, "libunwind crosses the signal frame");
  cr_assert_eq(s->n, s->m, "tp_unwind: %d frames, libunwind: %d", s->n, s->m);
  int moved = 0;
  for (int i = 1; i < s->n; i++) {
    if (s->ours[i] == (uintptr_t)s->ref[i]) continue;
    cr_assert_eq(s->ours[i], (uintptr_t)s->ref[i] + 1, "frame %d: %#lx, libunwind %p", i,
                 (unsigned long)s->ours[i], s->ref[i]);
    moved++;
  }
  cr_assert_eq(moved, 1, "one interrupted pc, %d frames differ", moved);
}

/* A function without call frame information (no FDE), as hand-written
 * assembly or generated code may be. It keeps a frame pointer, which
 * libunwind follows; tp_unwind gives up there, with the frames before. */
static snap_t in_nocfi;
void tp_test_nocfi_call(void);
__attribute__((noinline, used)) void tp_test_nocfi_inner(void) {
  snap(&in_nocfi, MAXF);
  after++;
}
__asm__(".text\n.p2align 4\n.globl tp_test_nocfi_call\n.type tp_test_nocfi_call, @function\n"
        "tp_test_nocfi_call:\n  push %rbp\n  mov %rsp, %rbp\n  call tp_test_nocfi_inner\n"
        "  pop %rbp\n  ret\n.size tp_test_nocfi_call, .-tp_test_nocfi_call\n");

Test(unwind, no_cfi_gives_up) {
  tp_test_nocfi_call();
  after++;
  const snap_t *s = &in_nocfi;
  cr_assert_lt(s->n, 0, "tp_unwind followed a frame without call frame information");
  int k = -1 - s->n;
  cr_assert_eq(k, 3, "the frames before it: snap, tp_test_nocfi_inner, tp_test_nocfi_call (%d)", k);
  cr_assert_gt(s->m, k + 2, "libunwind follows the frame pointer on (%d frames)", s->m);
  for (int i = 1; i < k; i++)
    cr_assert_eq(s->ours[i], (uintptr_t)s->ref[i], "frame %d: %#lx, libunwind %p", i,
                 (unsigned long)s->ours[i], s->ref[i]);
}

/* A binary recursion, snapped on entry to every call: consecutive walks
 * share their outer frames and differ below (which call site, how deep),
 * as a program's consecutive allocations do. Every third level keeps a
 * frame pointer (alloca), so rbp-based frames and saved rbp slots are in
 * the memo too. */
static uintptr_t tree_last[MAXF]; /* the walk before, to judge "same" */
static int tree_last_n;

__attribute__((noinline)) static void tree(int d, snap_t *s, int *walks) {
  if (d % 3 == 1) {
    char *p = alloca(16 + (size_t)d * 8);
    memset(p, d, 16);
    sink = p;
  }
  snap(s, MAXF);
  assert_same(s);
  /* "same" exactly when every return address is the walk before's. */
  bool equal = *walks && s->n == tree_last_n &&
               !memcmp(s->ours, tree_last, sizeof *s->ours * (size_t)s->n);
  cr_assert_eq(s->same, equal, "walk %d: same %d, the return addresses %s", *walks, s->same,
               equal ? "the same" : "not the same");
  memcpy(tree_last, s->ours, sizeof tree_last);
  tree_last_n = s->n;
  ++*walks;
  if (d == 0) return;
  tree(d - 1, s, walks);
  after += d;
  tree(d - 1, s, walks);
  after += 2 * d;
}

static tp_uw_memo_t memo_store;

/* The memo's prefix (the caller's own frames, taken as one piece while
 * their return addresses hold): with this program's code as the caller's,
 * the leading frames of each walk in it (snap, rec, the test) are that
 * prefix, up to the first rbp-based one. */
static int find_program(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  (void)arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      memo_store.self_lo = info->dlpi_addr + ph->p_vaddr;
      memo_store.self_hi = memo_store.self_lo + ph->p_memsz;
    }
  }
  return 1; /* the program is the first object */
}

static void with_prefix(void) {
  dl_iterate_phdr(find_program, NULL);
  cr_assert_lt(memo_store.self_lo, (uintptr_t)&snap);
  cr_assert_gt(memo_store.self_hi, (uintptr_t)&snap);
}

static void memo_same_frames(void) {
  static snap_t s;
  int walks = 0;
  memo = &memo_store;
  tree(9, &s, &walks);
  memo = NULL;
  cr_assert_eq(walks, 1023);
}

Test(unwind, memo_same_frames) { memo_same_frames(); }

/* One frame deeper each walk, then one shallower: the kept outer steps
 * stay in place while there is room in front of them (each walk adds one
 * step there), and the memo moves to the middle of its room when there is
 * not; every walk still agrees with libunwind and knows it is new. */
static void memo_drifts_and_moves(void) {
  static snap_t s;
  memo = &memo_store;
  for (int round = 0; round < 3; round++) {
    for (int d = 0; d <= 70; d++) {
      rec(d, &s, MAXF);
      assert_same(&s);
      cr_assert(!s.same || d == 0, "walk %d deep: not the last one", d);
    }
    for (int d = 70; d >= 0; d--) {
      rec(d, &s, MAXF);
      assert_same(&s);
      cr_assert(!s.same || d == 70, "walk %d deep: not the last one", d);
    }
  }
  memo = NULL;
}

Test(unwind, memo_drifts_and_moves) { memo_drifts_and_moves(); }

/* Walks from one call site (a loop), d deep, at most max frames. */
static const struct { int d, max; bool same; } steps[] = {
    {12, MAXF, false}, {12, MAXF, true}, /* the same stack twice */
    {11, MAXF, false},                   /* one frame fewer */
    {12, MAXF, false},                   /* one more */
    {12, 6, false},                      /* a shorter limit: the last walk holds more */
    {12, 6, true},                       /* the same truncated stack */
    {12, MAXF, false},                   /* a longer limit: the last walk was cut */
    {30, 10, false},
    {31, 10, true},                      /* cut, one frame deeper: the same 10 addresses */
    {31, 10, true},
    {29, 10, true},                      /* two frames less deep, in all of them */
    {5, 4, false},                       /* fewer frames kept */
    {6, 4, true},                        /* the same 4 */
    {5, MAXF, false},
};

static void memo_says_same(void) {
  static snap_t s;
  memo = &memo_store;
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    rec(steps[i].d, &s, steps[i].max);
    cr_assert_eq(s.same, steps[i].same, "walk %zu (%d deep, at most %d): same %d", i, steps[i].d,
                 steps[i].max, s.same);
    cr_assert_eq(s.n, steps[i].max == MAXF ? s.m : steps[i].max);
    assert_same(&s);
  }
  memo = NULL;
}

Test(unwind, memo_says_same) { memo_says_same(); }

/* The same walks with a prefix: it holds while the depth does, and is
 * found again, shorter or longer, when it does not. */
Test(unwind, prefix_same_frames) {
  with_prefix();
  memo_same_frames();
  cr_assert_gt(memo_store.pre, 0);
}

Test(unwind, prefix_drifts_and_moves) {
  with_prefix();
  memo_drifts_and_moves();
  cr_assert_gt(memo_store.pre, 2);
}

Test(unwind, prefix_says_same) {
  with_prefix();
  memo_says_same();
}

/* Walks through many return addresses: NHOPS functions, each calling
 * hop_next from a call site of its own (a return address each), and
 * hop_next calling a hop chosen from a seed. The shape table starts at 256
 * slots and grows when half full (at 128 and 512 entries): the walks go
 * on through each growth, and must agree with libunwind all along. */
#define NHOPS 600
typedef void (*hop_fn)(int d, unsigned seed, snap_t *s);
static hop_fn hops[NHOPS];

__attribute__((noinline)) static void hop_next(int d, unsigned seed, snap_t *s) {
  if (d == 0) {
    snap(s, MAXF);
    assert_same(s);
  } else {
    hops[(seed >> 8) % NHOPS](d - 1, seed * 1103515245u + 12345u, s);
  }
  after += d;
}

#define HOP(i)                                                                                     \
  __attribute__((noinline)) static void hop##i(int d, unsigned seed, snap_t *s) {                  \
    hop_next(d, seed, s);                                                                          \
    after += i;                                                                                    \
  }
#define HOP_REF(i) hop##i,
#define D10(M, p) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7) M(p##8) M(p##9)
#define D100(M, p)                                                                                 \
  D10(M, p##0) D10(M, p##1) D10(M, p##2) D10(M, p##3) D10(M, p##4) D10(M, p##5) D10(M, p##6)       \
  D10(M, p##7) D10(M, p##8) D10(M, p##9)
D100(HOP, 1) D100(HOP, 2) D100(HOP, 3) D100(HOP, 4) D100(HOP, 5) D100(HOP, 6)
static const hop_fn hop_list[NHOPS] = {D100(HOP_REF, 1) D100(HOP_REF, 2) D100(HOP_REF, 3)
                                           D100(HOP_REF, 4) D100(HOP_REF, 5) D100(HOP_REF, 6)};

static void *hop_walks(void *arg) {
  static __thread snap_t s;
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (int w = 0; w < 400; w++) {
    hop_next(20, seed, &s);
    seed = seed * 69069u + 1u;
  }
  return NULL;
}

Test(unwind, table_grows) {
  memcpy(hops, hop_list, sizeof hops);
  cr_assert_eq(tp_unwind_slots(), 256, "the table starts at a page");
  hop_walks((void *)1);
  cr_assert_geq(tp_unwind_slots(), 4096, "600 return addresses and more: grown twice (%zu slots)",
                tp_unwind_slots());
}

/* Two threads walk while the table grows under them. */
Test(unwind, table_grows_threads) {
  memcpy(hops, hop_list, sizeof hops);
  pthread_t t[2];
  for (uintptr_t i = 0; i < 2; i++) pthread_create(&t[i], NULL, hop_walks, (void *)(i + 7));
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  cr_assert_geq(tp_unwind_slots(), 4096, "grown twice (%zu slots)", tp_unwind_slots());
}

/* The table is given before any walk (as tp_stack_init does). */
static void setup(void) __attribute__((constructor));
static void setup(void) {
  void *m = mmap(NULL, TP_UW_TABLE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) abort();
  tp_unwind_init(m);
}
