/* leak_cache.c - a per-thread cache of recently captured stacks, so that a
 * get from a stack seen a moment ago costs a few compares instead of an
 * unwind (see leak_int.h, tp_stack_capture_cached).
 *
 * An unwind is a function of the registers it starts from and of the stack
 * memory it reads. Starting from the same place (the capture function's
 * frame at the same stack address, which fixes the path through tierpool's
 * own frames), every frame's return address sits in a slot at a fixed
 * address: the caller's stack pointer minus one word. So a capture records
 * where each return address is and what it is; a later capture from the
 * same stack address whose slots all still hold the same return addresses
 * has the same frames, and takes the cached id.
 *
 * The slots are found by searching the stack upward from the capture frame
 * for each return address unw_backtrace gave, in order (libunwind's cursor
 * would give them exactly, but its steps take a lock that masks signals:
 * two system calls each). A stale copy of a return address left in a
 * frame's uninitialised locals, below the real slot, would be taken for
 * it; the cached stack is then still used only while that copy and every
 * other slot hold their values, and a different stack would have to keep
 * all of them.
 * Tight loops, recursive builders and interpreters that allocate from the
 * same place over and over then skip the unwind altogether.
 *
 * Safety: slots are read only inside the thread's own stack mapping, known
 * from pthread_getattr_np when the cache is set up, and above the current
 * stack pointer, so every read is of mapped memory. A stack whose slots do
 * not hold their return addresses (a signal frame on the way) is not
 * cached. x86-64 only (the return address slot rule is its ABI's); other
 * machines always unwind.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "leak_int.h"

#define TP_SCACHE_SETS 32
#define TP_SCACHE_WAYS 4
#define TP_SCACHE_FRAMES (TP_LEAK_MAX_DEPTH + TP_STACK_SKIP_MAX)
/* Every this many captures, a thread whose hits were under 1 in 8 (stacks
 * that never repeat from the same place: every path of a recursive
 * builder is another stack) installs only 1 miss in 16, so the misses do
 * not pay for a cache that does not help; one that hits again gets it back. */
#define TP_SCACHE_ROUND 4096

typedef struct tp_scache_entry_s {
  uintptr_t sp;                        /* the capture frame's address; 0: empty */
  uint32_t id, epoch;                  /* the interned stack and its period */
  uint32_t nslots, depth;              /* slots checked; frames of the stack (after skipping ours) */
  uint32_t first;                      /* index of the first frame that is not tierpool's */
  uint32_t unused;
  uintptr_t slot[TP_SCACHE_FRAMES];    /* where each return address is */
  uintptr_t ra[TP_SCACHE_FRAMES];      /* and what it is */
} tp_scache_entry_t;

struct tp_stack_cache_s {
  _Atomic uintptr_t owner;             /* pthread_self of the thread using it, 0: none */
  uintptr_t lo, hi;                    /* the owner's stack mapping */
  unsigned depth;                      /* TIERPOOL_LEAKS_DEPTH when the entries were made */
  unsigned next[TP_SCACHE_SETS];       /* round-robin victim per set */
  uint32_t tries, hits;                /* captures and hits this round (TP_SCACHE_ROUND) */
  uint32_t misses, sparse;             /* misses so far; sparse: install 1 miss in sparse + 1 */
  tp_scache_entry_t e[TP_SCACHE_SETS][TP_SCACHE_WAYS];
};

#if defined(__x86_64__)

tp_stack_cache_t *tp_stack_cache_new(void) {
  void *m = mmap(NULL, sizeof(tp_stack_cache_t), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return m == MAP_FAILED ? NULL : m;
}

/* Claims c for the calling thread (once) and learns its stack; false when
 * another thread has it (states shared by threads without a cache) or the
 * stack is unknown. A thread that ends gives its pthread_t, and with it its
 * stack mapping, to the next one glibc starts there: the entries stay true. */
static bool claim(tp_stack_cache_t *c) {
  uintptr_t me = (uintptr_t)pthread_self(), cur = atomic_load_explicit(&c->owner, memory_order_relaxed);
  if (cur == me) return c->hi != 0;
  if (cur != 0 || !atomic_compare_exchange_strong(&c->owner, &cur, me)) return false;
  pthread_attr_t attr;
  void *addr;
  size_t size;
  c->lo = c->hi = 0;
  /* May allocate (the main thread's reads /proc/self/maps): served, not hooked. */
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      c->lo = (uintptr_t)addr;
      c->hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
  }
  return c->hi != 0;
}

static unsigned set_of(uintptr_t sp) { return (unsigned)((sp >> 4) ^ (sp >> 11)) & (TP_SCACHE_SETS - 1); }

/* The program's frames first: tierpool's own (below first) match whenever
 * the capture frame is at the same address on the same path. */
static bool still_valid(const tp_scache_entry_t *e) {
  for (uint32_t i = e->first; i < e->nslots; i++)
    if (*(const volatile uintptr_t *)e->slot[i] != e->ra[i]) return false;
  for (uint32_t i = 0; i < e->first; i++)
    if (*(const volatile uintptr_t *)e->slot[i] != e->ra[i]) return false;
  return true;
}

/* The unwind of a miss, with libunwind's cursor: the frames, and the
 * exact slot of each return address (the caller's stack pointer minus one
 * word). */
__attribute__((noinline)) static unsigned unwind(uintptr_t *ips, uintptr_t *slots, unsigned want) {
  unw_context_t uc;
  unw_cursor_t cur;
  if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0) return 0;
  unsigned n = 0;
  while (n < want && unw_step(&cur) > 0) {
    unw_word_t ip, sp;
    if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || unw_get_reg(&cur, UNW_REG_SP, &sp) != 0) break;
    ips[n] = ip;
    slots[n++] = sp - sizeof(uintptr_t);
  }
  return n;
}

__attribute__((noinline)) uint32_t tp_stack_capture_cached(tp_stack_cache_t *c) {
  tp_leak_tab_t *t = &tp_leak_tab;
  if (!c || !claim(c)) return tp_stack_capture();
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  uint32_t epoch = atomic_load_explicit(&t->epoch, memory_order_relaxed);
  if (sp - c->lo >= c->hi - c->lo) return tp_stack_capture(); /* another stack: a coroutine's */
  if (c->depth != t->depth) { /* first use */
    memset(c->e, 0, sizeof c->e);
    c->depth = t->depth;
  }
  if (++c->tries == TP_SCACHE_ROUND) {
    c->sparse = c->hits < TP_SCACHE_ROUND / 8 ? 255 : 0;
    c->tries = c->hits = 0;
  }
  unsigned s = set_of(sp);
  for (unsigned w = 0; w < TP_SCACHE_WAYS; w++) {
    tp_scache_entry_t *e = &c->e[s][w];
    if (e->sp != sp || !still_valid(e)) continue;
    c->hits++;
    if (e->epoch != epoch) { /* a new period (tierpool_mark, fork): same frames, new entry */
      e->id = tp_stack_intern(&e->ra[e->first], e->depth, epoch);
      e->epoch = epoch;
    }
    return e->id;
  }
  /* A thread whose stacks do not repeat: the plain unwind, cheaper than
   * the cursor's, for 15 misses in 16. */
  if (c->misses++ & c->sparse) return tp_stack_capture();
  uintptr_t ips[TP_SCACHE_FRAMES], slots[TP_SCACHE_FRAMES];
  unsigned n = unwind(ips, slots, t->depth + TP_STACK_SKIP_MAX), first = 0;
  while (first < n && ips[first] - t->self_lo < t->self_hi - t->self_lo) first++;
  unsigned depth = n > first ? n - first : 0;
  if (depth > t->depth) depth = t->depth;
  uint32_t id = tp_stack_intern(&ips[first], depth, epoch);
  /* Slots below this frame belong to unwind() itself: the same every time.
   * Cache the stack only if every other slot is where the rule says (a
   * signal frame on the way breaks it), inside this stack. */
  unsigned k0 = 0, end = first + depth;
  while (k0 < n && slots[k0] < sp) k0++;
  if (id == TP_STACK_OVERFLOW || k0 > first || end == k0) return id;
  for (unsigned i = k0; i < end; i++)
    if (slots[i] - sp >= c->hi - sp || *(const uintptr_t *)slots[i] != ips[i]) return id;
  tp_scache_entry_t *e = &c->e[s][c->next[s]++ % TP_SCACHE_WAYS];
  e->sp = sp;
  e->id = id;
  e->epoch = epoch;
  e->nslots = end - k0;
  e->depth = depth;
  e->first = first - k0;
  memcpy(e->slot, slots + k0, e->nslots * sizeof *slots);
  memcpy(e->ra, ips + k0, e->nslots * sizeof *ips);
  return id;
}

#else /* no cache: unwind every time */

tp_stack_cache_t *tp_stack_cache_new(void) { return NULL; }

uint32_t tp_stack_capture_cached(tp_stack_cache_t *c) {
  (void)c;
  return tp_stack_capture();
}

#endif
