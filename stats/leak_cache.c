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
#define TP_SCACHE_ROUND 8192

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

/* Where each return address of a fresh unwind sits: searching the stack
 * upward from the capture frame, each one in turn above the previous one.
 * The search is bounded by the stack's top. False if one is not found
 * (a signal frame, a stack switch): such a stack is not cached. */
static bool find_slots(const tp_stack_cache_t *c, uintptr_t sp, const uintptr_t *ips, unsigned n,
                       uintptr_t *slots) {
  uintptr_t a = sp;
  for (unsigned i = 0; i < n; i++) {
    while (a + sizeof(uintptr_t) <= c->hi && *(const uintptr_t *)a != ips[i]) a += sizeof(uintptr_t);
    if (a + sizeof(uintptr_t) > c->hi) return false;
    slots[i] = a;
    a += sizeof(uintptr_t);
  }
  return true;
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
    c->sparse = c->hits < TP_SCACHE_ROUND / 8 ? 15 : 0;
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
  void *buf[TP_SCACHE_FRAMES];
  uintptr_t *ips = (uintptr_t *)buf, slots[TP_SCACHE_FRAMES];
  int got = unw_backtrace(buf, (int)t->depth + TP_STACK_SKIP_MAX);
  unsigned n = got > 0 ? (unsigned)got : 0, first = 0;
  while (first < n && ips[first] - t->self_lo < t->self_hi - t->self_lo) first++;
  unsigned depth = n > first ? n - first : 0;
  if (depth > t->depth) depth = t->depth;
  uint32_t id = tp_stack_intern(&ips[first], depth, epoch);
  /* The frames below this one (unw_backtrace's caller chain inside this
   * function) are the same every time: the check starts at this frame's
   * own return address, the first frame of hook_get. */
  unsigned k0 = 0;
  while (k0 < first && ips[k0] != (uintptr_t)__builtin_return_address(0)) k0++;
  unsigned end = first + depth;
  if (id == TP_STACK_OVERFLOW || k0 == first || end == k0 || (c->misses++ & c->sparse) ||
      !find_slots(c, sp, ips + k0, end - k0, slots))
    return id;
  tp_scache_entry_t *e = &c->e[s][c->next[s]++ % TP_SCACHE_WAYS];
  e->sp = sp;
  e->id = id;
  e->epoch = epoch;
  e->nslots = end - k0;
  e->depth = depth;
  e->first = first - k0;
  memcpy(e->slot, slots, e->nslots * sizeof *slots);
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
