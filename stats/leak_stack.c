/* leak_stack.c - capturing call stacks and interning them (see leak_int.h).
 *
 * A capture is one walk of tp_unwind (leak_unwind.c: the common frame
 * shapes from a cache, a frame in a few loads) or, when it meets a frame it
 * does not follow, one unw_backtrace; the frames of tierpool itself
 * dropped, then a lookup in the stack table. Only a stack
 * never seen before costs more: its frames are copied into the pool and each
 * is tied to the module it lies in (_dl_find_object, lock-free), with that
 * module's path and load bias copied too, so the report can name a library
 * that was closed before exit.
 *
 * libunwind is loaded (dlopen) by a thread of tierpool's when a capture
 * first needs it, not linked: a process whose stacks tp_unwind follows
 * never maps it, nor liblzma, which it pulls in (the fixed cost of
 * preloading). Without it, a stack tp_unwind gives up on keeps the frames
 * it followed.
 *
 * The index is lock-free. The modules are leak_modules.c's.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "hooks.h"
#include "leak_int.h"
#include "leak_unwind.h"
#include "log.h"
#include "os.h"
#include "quiet_thread.h"
#include "sampler.h"

/* ------------------------------------------------------------ libunwind */

#ifndef TP_LIBUNWIND_SONAME
#define TP_LIBUNWIND_SONAME "libunwind.so.8"
#endif

/* unw_backtrace once libunwind is loaded; NULL before, and when it cannot
 * be. tp_unwind follows nearly every stack by itself (signal frames too):
 * libunwind is loaded only when a capture meets a frame it does not
 * follow, not at start. Loaded at start, libunwind and the liblzma it
 * pulls in cost every process about 0.3 ms of CPU time and 20 to 40 page
 * faults (Debian's /bin/true: docs/leaks.md, "Per process"), and none of
 * python3, bash, git, perl, sqlite3, make, cmake, gcc or g++ needed it.
 *
 * It is not loaded inside that capture: the capture runs inside the
 * program's malloc, which the loader calls while it holds its lock, and
 * which a thread may call holding a lock that a constructor run by
 * another thread's dlopen waits for. A thread of tierpool's, started then,
 * loads it, holding nothing; the captures that need libunwind before it is
 * there keep the frames tierpool's unwinder followed (the innermost, up to
 * the one it does not follow). No thread warms libunwind up: its first
 * fallback sets it up inside the capture. */
static typeof(unw_backtrace) *_Atomic unw_backtrace_fn;
enum { UNW_NONE, UNW_LOADING, UNW_DONE };
static _Atomic int unw_state;

/* dlopen allocates: tp_in_hook set, those blocks are served and never
 * fail, and they are not charged to a stack (the loader keeps them for
 * the life of the process). RTLD_LOCAL: libunwind's symbols (its weak
 * `backtrace`, its _Unwind_*) stay out of the program's scope. */
static void load_unwinder(void) {
  unsigned char was = tp_in_hook;
  tp_in_hook = 1;
  void *h = dlopen(TP_LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
  typeof(unw_backtrace) *fn = NULL;
  if (h) *(void **)&fn = dlsym(h, "unw_backtrace"); /* POSIX's form */
  const char *why = fn ? NULL : dlerror();
  tp_in_hook = was;
  if (fn) atomic_store_explicit(&unw_backtrace_fn, fn, memory_order_release);
  else
    TP_WARN_ONCE("cannot load " TP_LIBUNWIND_SONAME " (%s): leaks and profiles still count "
                 "every block, but a stack tierpool's own unwinder cannot follow keeps only "
                 "the frames it followed (install libunwind to name them all)",
                 why ? why : "no unw_backtrace");
}

static void *loader_main(void *arg) {
  (void)arg;
  load_unwinder();
  atomic_store_explicit(&unw_state, UNW_DONE, memory_order_release);
  return NULL;
}

/* Starts the loading thread, once. Inside a capture (tp_in_hook set: what
 * pthread_create allocates is served untracked). */
static void want_unwinder(void) {
  int s = UNW_NONE;
  if (atomic_load_explicit(&unw_state, memory_order_relaxed) != UNW_NONE ||
      !atomic_compare_exchange_strong(&unw_state, &s, UNW_LOADING))
    return;
  int rc = tp_quiet_thread_start(loader_main);
  if (rc != 0) {
    atomic_store(&unw_state, UNW_DONE);
    TP_WARN_ERRNO_ONCE(rc, "cannot start a thread to load " TP_LIBUNWIND_SONAME ": a stack "
                       "tierpool's own unwinder cannot follow keeps only the frames it followed");
  }
}

void tp_stack_unwinder_wait(void) {
  for (int i = 0; i < 2000 && atomic_load_explicit(&unw_state, memory_order_acquire) == UNW_LOADING;
       i++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

/* ------------------------------------------------------------ memory */

static void hash_key_init(void);

/* The tables and the frame-shape table (leak_unwind.c), in one mapping.
 * A process's first capture writes near the start of nearly each of them,
 * and the first page written in a 2 MiB window of the address space costs
 * the kernel a page table too: on some virtual machines a page costs 12
 * to 16 us and a new window 25 to 40 us more, again at exit
 * (scripts/touch-cost), more than the capture itself, and a process in
 * sample mode may capture only a few stacks. The big tables (over 2 MiB)
 * each began in a window of its own: with the small ones and the
 * sampler's memory, six windows for `workloads tree 14`'s first capture;
 * two now.
 *
 * So the frame pool (ips, mods) and the module paths fill from their top
 * down (make_entry, leak_modules.c), and a table that fills from its top
 * ends where one that fills from its bottom begins, halfway into a page,
 * so that the two share that page, in a window the small tables share
 * too: mods' top and tiers' start share a page and a window; ips' top and
 * the module table's start share a page, and a window with sample mode's
 * part of the index and the frame-shape table's first (a page each), the
 * sampler's first chunks (256 KiB, core/sampler.c), and the paths' top
 * with the stack table's start (a page). A first capture and its sampled
 * block write six pages in two windows, where they wrote 18 in five.
 * `next` and the whole index, which sample mode does not use, come last,
 * each in windows of its own. Unused address space before mods and
 * before ips puts their ends where they belong. */
#define END_ANY SIZE_MAX
#define TP_SAMPLER_FIRST ((size_t)256 << 10)
#define TP_IPS_END (((size_t)120 << 10) + TP_PAGE_SIZE / 2) /* in its window: 15,000 frames */
bool tp_stack_init(void) {
  tp_leak_tab_t *t = &tp_leak_tab;
  char *shape = NULL, *sampler = NULL;
  /* end: where the table ends, in a window (per TP_WINDOW) or a page (per
   * TP_PAGE_SIZE); END_ANY: right after the last, aligned. */
  static const struct {
    size_t bytes, align, end, per;
  } lay[] = {
      {sizeof(uint16_t) * TP_LEAK_MAX_FRAMES, 2, TP_WINDOW / 2 + TP_PAGE_SIZE / 2, TP_WINDOW}, /* mods */
      {sizeof(uint64_t) * TP_LEAK_MAX_STACKS, 8, END_ANY, 0},                      /* tiers */
      {sizeof(uintptr_t) * TP_LEAK_MAX_FRAMES, 8, TP_IPS_END, TP_WINDOW},          /* ips */
      {sizeof(tp_module_t) * TP_LEAK_MAX_MODULES, 8, END_ANY, 0},                  /* modules */
      {sizeof(uint64_t) * TP_LEAK_INDEX_SMALL, TP_PAGE_SIZE, END_ANY, 0},          /* index_small */
      {TP_UW_TABLE_BYTES, 16, END_ANY, 0},                                         /* shape */
      {TP_SAMPLER_FIRST, TP_PAGE_SIZE, END_ANY, 0},                                /* sampler */
      {TP_LEAK_PATH_BYTES, 1, TP_PAGE_SIZE / 2, TP_PAGE_SIZE},                     /* paths */
      {sizeof(tp_stack_t) * TP_LEAK_MAX_STACKS, 64, END_ANY, 0},                   /* stacks */
      {sizeof(uint32_t) * TP_LEAK_MAX_STACKS, TP_PAGE_SIZE, END_ANY, 0},           /* next */
      {sizeof(uint64_t) * TP_LEAK_INDEX_SLOTS, TP_PAGE_SIZE, END_ANY, 0},          /* index */
  };
  char **const at[] = {(char **)&t->mods,   (char **)&t->tiers,       (char **)&t->ips,
                       (char **)&t->modules, (char **)&t->index_small, &shape,
                       &sampler,             &t->paths,                (char **)&t->stacks,
                       (char **)&t->next,    (char **)&t->index};
  _Static_assert(sizeof lay / sizeof lay[0] == sizeof at / sizeof at[0], "a place for each");
  /* ips' top, the module table, a half page's gap, sample mode's index,
   * the frame-shape tables, up to a page's gap, the sampler's area, half a
   * page's gap, the paths, and 512 stacks. */
  _Static_assert(TP_IPS_END + sizeof(tp_module_t) * TP_LEAK_MAX_MODULES + TP_PAGE_SIZE / 2 +
                         sizeof(uint64_t) * TP_LEAK_INDEX_SMALL + TP_UW_TABLE_BYTES +
                         TP_PAGE_SIZE + TP_SAMPLER_FIRST + TP_PAGE_SIZE / 2 +
                         TP_LEAK_PATH_BYTES + 512 * sizeof(tp_stack_t) <=
                     TP_WINDOW,
                 "ips' top, the small tables and stacks' first 32 KiB fit in one window");
  size_t off[sizeof lay / sizeof lay[0]], total = 0;
  for (size_t i = 0; i < sizeof lay / sizeof lay[0]; i++) {
    total = (total + lay[i].align - 1) & ~(lay[i].align - 1);
    if (lay[i].end != END_ANY)
      total += (lay[i].end + lay[i].per - (total + lay[i].bytes) % lay[i].per) % lay[i].per;
    off[i] = total;
    total += lay[i].bytes;
  }
  char *m = tp_os_map_window(total);
  if (!m) return false;
  for (size_t i = 0; i < sizeof lay / sizeof lay[0]; i++) *at[i] = m + off[i];
  tp_unwind_init(shape);
  tp_sampler_first_area(sampler, TP_SAMPLER_FIRST);
  hash_key_init();
  /* Id 0 means "no stack"; id 1 takes what does not fit once the table is full. */
  atomic_store(&t->nstacks, TP_STACK_OVERFLOW + 1);
  t->npaths = 0; /* paths[0] is "": the main program's (tp_module_path) */
  /* Linked into the program itself (the unit tests): skip nothing, the
   * program's own frames would go too. */
  bool main_program;
  uintptr_t self[2];
  tp_object_span((uintptr_t)&tp_stack_init, self, &main_program);
  if (!main_program) {
    t->self_lo = self[0];
    t->self_hi = self[1];
  }
  return true;
}

void tp_stack_fork_child(void) {
  atomic_store(&tp_leak_tab.module_lock, 0);
  /* The loading thread is not here: the next capture that needs libunwind
   * starts another. */
  int s = UNW_LOADING;
  atomic_compare_exchange_strong(&unw_state, &s, UNW_NONE);
  s = 1; /* nor the one reading the program's path */
  atomic_compare_exchange_strong(&tp_leak_tab.exe_state, &s, 0);
}

/* ------------------------------------------------------------ interning */

static inline uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

/* The stack hash's key: a random-looking word per frame position (up to
 * TP_LEAK_MAX_DEPTH, the 0 after an odd last frame's included), and one
 * for the depth, filled at start (tp_stack_init; a mix of the position).
 * Each has its top bit set: a code address (below 2^48) xored with it is
 * never 0. */
TP_HOOKED_DATA static uint64_t hash_key[TP_LEAK_MAX_DEPTH + 2];

static void hash_key_init(void) {
  for (unsigned i = 0; i < sizeof hash_key / sizeof *hash_key; i++)
    hash_key[i] = mix64((i + 1) * 0x9e3779b97f4a7c15ull) | 1ull << 63;
}

/* Two frames, each xored with its position's key, multiplied into 128
 * bits, the halves folded. */
static inline uint64_t pair_fold(uint64_t a, uint64_t b) {
#if defined(__x86_64__)
  /* gcc 12 passes a 128-bit product through the stack here (a store and
   * a load in every pair); the instruction itself leaves it in rdx:rax. */
  uint64_t lo, hi;
  __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "%0"(a), "rm"(b) : "cc");
  return lo ^ hi;
#else
  __uint128_t m = (__uint128_t)a * b;
  return (uint64_t)m ^ (uint64_t)(m >> 64);
#endif
}

/* The hash of ips[0 .. n) (ips[n] == 0): a sum of pair_folds, one per
 * pair of frames (frame i with key i), then one multiply to spread it
 * (NH, as xxh3 hashes short inputs). The products do not wait on each
 * other: the hash is ready about 20 cycles after its last frame, where a
 * chain of one multiply a pair was 5 cycles a pair (about 80 for a
 * 32-frame stack), and every capture waited for it before its look in the
 * index. The frames past the
 * innermost TP_LEAK_LINE_INNER are summed first and *outer is taken from
 * them (0 for a stack no deeper than that): stacks that differ only in
 * their innermost frames share it, and `all` mode looks for them in one
 * line of the index (intern). The depth takes the odd place beside frame
 * 2, so stacks whose frames are another's first ones hash apart. */
static uint64_t frames_hash(const uintptr_t *ips, unsigned n, uint64_t *outer) {
  _Static_assert(TP_LEAK_LINE_INNER == 3, "frames 0 to 2 and the depth are the inner pairs");
  const uint64_t *k = hash_key;
  /* One loop, its count the only branch that depends on the depth (a
   * loop by fours with two tails for the rest mispredicted three times as
   * often): an odd last frame pairs with ips[n], which the caller sets to
   * 0. */
  uint64_t o = 0;
  for (unsigned i = TP_LEAK_LINE_INNER; i < n; i += 2)
    o += pair_fold(ips[i] ^ k[i], ips[i + 1] ^ k[i + 1]);
  *outer = n > TP_LEAK_LINE_INNER ? (o * 0x9e3779b97f4a7c15ull) >> 24 : 0; /* a place: middle bits */
  uint64_t h = o;
  if (n > 1) h += pair_fold(ips[0] ^ k[0], ips[1] ^ k[1]);
  else if (n) h += pair_fold(ips[0] ^ k[0], k[1]);
  h += pair_fold((n > 2 ? ips[2] : 0) ^ k[2], n ^ k[TP_LEAK_MAX_DEPTH + 1]);
  /* Spread: the low bits of a sum of products are its weakest. */
  h ^= h >> 37;
  h *= 0x165667919e3779f9ull;
  return h ^ (h >> 32);
}

/* A new entry for these frames, not yet published; 0 if a table is full. */
static uint32_t make_entry(const uintptr_t *ips, unsigned depth, uint64_t key, uint64_t fhash,
                           uint32_t epoch) {
  tp_leak_tab_t *t = &tp_leak_tab;
  uint32_t id = atomic_fetch_add_explicit(&t->nstacks, 1, memory_order_relaxed);
  /* Id 1's entry, for what does not fit once the table is full, is
   * written with the first: before it, a process touches no page of the
   * table (and there is no stack to overflow). */
  if (id == TP_STACK_OVERFLOW + 1) t->stacks[TP_STACK_OVERFLOW].key = 1;
  if (id >= TP_LEAK_MAX_STACKS) {
    atomic_store_explicit(&t->nstacks, TP_LEAK_MAX_STACKS, memory_order_relaxed);
    return 0;
  }
  /* The pool fills from its top down (tp_stack_init); a stack's frames
   * are in order from frame0 up. */
  uint32_t used = atomic_fetch_add_explicit(&t->nframes, depth, memory_order_relaxed);
  if ((uint64_t)used + depth > TP_LEAK_MAX_FRAMES) { /* id wasted: key stays 0 */
    atomic_store_explicit(&t->nframes, TP_LEAK_MAX_FRAMES, memory_order_relaxed); /* no wrap */
    return 0;
  }
  uint32_t f0 = TP_LEAK_MAX_FRAMES - used - depth;
  memcpy(&t->ips[f0], ips, depth * sizeof *ips);
  tp_resolve_modules(ips, &t->mods[f0], depth);
  tp_stack_t *s = &t->stacks[id];
  s->fhash = fhash;
  s->epoch = epoch;
  s->frame0 = f0;
  s->depth = (uint16_t)depth;
  s->key = key;
  return id;
}

/* Looks the stack up in the index part tab[0..mask] from slot key >> 1 & mask,
 * at most limit slots, and enters it at the first empty slot met. Returns
 * its id; TP_STACK_OVERFLOW when the stack table is full; 0 when the limit
 * slots all hold other stacks. *mine is an entry made and not yet
 * published (0: none), kept for the next part when this one is full. Two
 * threads entering the same new stack read the same slots in the same
 * order, each slot filled once: the one whose CAS fails finds the other's
 * entry there, so a stack is never entered twice, in any part. */
static inline __attribute__((always_inline)) uint32_t
intern_in(_Atomic uint64_t *tab, size_t mask, size_t limit, const uintptr_t *ips, unsigned depth,
          uint64_t key, uint64_t fhash, uint32_t epoch, uint32_t *mine) {
  tp_leak_tab_t *t = &tp_leak_tab;
  uint64_t tag = key & ~TP_LEAK_ID_MASK;
  size_t i = (size_t)(key >> 1) & mask; /* (its bit 0 is always set) */
  /* Sample mode captures rarely, each most likely a new stack on a page of
   * the index not touched yet. (In `all` mode the pages fill quickly, and
   * a locked write per capture would make threads trade index lines.) */
  if (t->captures_rare) tp_os_touch_for_write(&tab[i]);
  for (size_t probe = 0; probe < limit; probe++, i = (i + 1) & mask) {
    uint64_t s = atomic_load_explicit(&tab[i], memory_order_acquire);
    if (s == 0) {
      if (!*mine && !(*mine = make_entry(ips, depth, key, fhash, epoch))) return TP_STACK_OVERFLOW;
      if (atomic_compare_exchange_strong_explicit(&tab[i], &s, tag | *mine, memory_order_release,
                                                  memory_order_acquire))
        return *mine;
      /* Another thread took the slot: s is now its value; it may be ours. */
    }
    if ((s & ~TP_LEAK_ID_MASK) == tag) {
      if (*mine) t->stacks[*mine].key = 0; /* lost a race for the same stack */
      return (uint32_t)(s & TP_LEAK_ID_MASK);
    }
  }
  return 0;
}

/* The index is looked at in up to two parts, each a fixed sequence of
 * slots for a given stack (so that a stack is found where it was entered,
 * whichever thread entered it): first a part where stacks that are often
 * captured near each other in time lie near each other, then the whole
 * index from the stack's own random slot (TP_STACK_OVERFLOW once all of
 * it is full).
 *
 * `all` mode: the line (TP_LEAK_LINE_SLOTS) chosen by the hash of the
 * frames outside the innermost TP_LEAK_LINE_INNER. A recursion, or a
 * function that allocates in several places, captures stacks that differ
 * only there one after another: a random slot each made every capture of
 * a deep recursion a miss in L2 (the tree workload's index lookups were a
 * quarter of its time), where most now find the line their neighbours
 * just read. A line already full of other stacks costs 8 compares before
 * the random slot. Sample mode: the small part first, one page that its
 * first couple of hundred stacks share, where each would map a page of its
 * own in the whole index (with 16 pages, `workloads tree 14` mapped 16
 * of them for its 25 sampled stacks; with two, both; a first touch costs
 * as much as a few captures, leak_unwind.c). */
static uint32_t intern(const uintptr_t *ips, unsigned depth, uint32_t epoch, uint32_t guess,
                       uint32_t last) {
  tp_leak_tab_t *t = &tp_leak_tab;
  uint64_t outer, fhash = frames_hash(ips, depth, &outer);
  /* fhash is mixed already: a period only needs to move it elsewhere. */
  uint64_t moved = (uint64_t)epoch * 0x9e3779b97f4a7c15ull;
  uint64_t key = (fhash ^ moved) | 1;
  /* The stack that came after the thread's last one the last time, its
   * entry asked for before the walk: the same key (the frames' hash, the
   * depth in it, and the period) is that stack, with no look in the
   * index; an entry that lost a race has key 0. The key, not the frames:
   * the index and the report (which merges periods by fhash) take a
   * stack's hash for the stack already, and the frames lie anywhere in a
   * pool of megabytes (`all` mode's `tree 14`: 32k stacks), where
   * comparing them was 15% of the time (perf), nearly all of it the wait
   * for their lines. */
  if (guess && t->stacks[guess].key == key) return guess;
  uint32_t mine = 0, id = 0;
  if (t->captures_rare)
    id = intern_in(t->index_small, TP_LEAK_INDEX_SMALL - 1, TP_LEAK_SMALL_PROBES,
                   ips, depth, key, fhash, epoch, &mine);
  else if (depth > TP_LEAK_LINE_INNER) {
    size_t line = (size_t)(outer ^ moved) & (TP_LEAK_INDEX_SLOTS - TP_LEAK_LINE_SLOTS);
    id = intern_in(t->index + line, TP_LEAK_LINE_SLOTS - 1, TP_LEAK_LINE_SLOTS, ips, depth, key,
                   fhash, epoch, &mine);
  }
  if (!id)
    id = intern_in(t->index, TP_LEAK_INDEX_SLOTS - 1, TP_LEAK_INDEX_SLOTS, ips, depth, key, fhash,
                   epoch, &mine);
  if (!id) return TP_STACK_OVERFLOW;
  if (last && id > TP_STACK_OVERFLOW) /* a hint: written only when it changes */
    atomic_store_explicit(&t->next[last], id, memory_order_release);
  return id;
}

/* ------------------------------------------------------------ capture */

/* The calling thread's memo of its last walk (leak_unwind.h), in its
 * cache, marked busy until the capture is done with it; NULL in sample
 * mode, whose captures are too far apart to share frames, before the
 * thread has a cache, and in a capture that interrupted another. */
static tp_uw_memo_t *walk_memo(void) {
  static char refused; /* a cache whose memo could not be mapped */
  tp_cache_t *c = tp_tls;
  if (tp_leak_tab.captures_rare || c->kind != TP_CACHE_LIVE) {
    tp_unwind_touch(); /* a load and a branch a capture, in sample mode */
    return NULL;
  }
  if (!c->uw_memo) {
    tp_unwind_touch();
    tp_uw_memo_t *m = tp_os_map(sizeof(tp_uw_memo_t), false);
    if (m) { /* the prefix: tierpool's own frames */
      m->self_lo = tp_leak_tab.self_lo;
      m->self_hi = tp_leak_tab.self_hi;
    }
    c->uw_memo = m ? (void *)m : &refused;
  }
  tp_uw_memo_t *m = c->uw_memo != &refused ? c->uw_memo : NULL;
  if (!m || m->busy) return NULL; /* a signal handler's capture, inside the thread's own */
  m->busy = 1;
  atomic_signal_fence(memory_order_seq_cst);
  return m;
}

_Static_assert(TP_LEAK_MAX_DEPTH + TP_STACK_SKIP_MAX <= TP_UW_MEMO_STEPS, "a memo holds every walk");

uint32_t tp_stack_capture(void) {
  uintptr_t buf[TP_LEAK_MAX_DEPTH + TP_STACK_SKIP_MAX + 1]; /* + 1: frames_hash's 0 */
  tp_leak_tab_t *t = &tp_leak_tab;
  tp_uw_memo_t *memo = walk_memo();
  bool same = false;
  uint32_t epoch = atomic_load_explicit(&t->epoch, memory_order_relaxed);
  uint32_t last = memo ? memo->id : 0;
  uint32_t guess = last ? atomic_load_explicit(&t->next[last], memory_order_acquire) : 0;
  if (guess) __builtin_prefetch(&t->stacks[guess]); /* on its way during the walk */
  int n = tp_unwind(buf, (int)t->depth + TP_STACK_SKIP_MAX, memo, &same);
  /* The stack the thread captured last: its id again, without a hash and
   * a look in the index. */
  if (same && memo->id && memo->epoch == epoch) {
    uint32_t id = memo->id;
    atomic_signal_fence(memory_order_seq_cst);
    memo->busy = 0;
    return id;
  }
  if (n < 0) {
    typeof(unw_backtrace) *fn = atomic_load_explicit(&unw_backtrace_fn, memory_order_acquire);
    if (fn) {
      n = fn((void **)buf, (int)t->depth + TP_STACK_SKIP_MAX);
    } else {
      n = -1 - n; /* the frames it followed */
      want_unwinder();
    }
  }
  /* tierpool's own frames, dropped: as many as from the last walk when
   * they and the first frame after them are that walk's. */
  int i = 0;
  if (memo && memo->skip < memo->lead)
    i = memo->skip;
  else
    while (i < n && buf[i] - t->self_lo < t->self_hi - t->self_lo) i++;
  unsigned depth = n > i ? (unsigned)(n - i) : 0;
  if (depth > t->depth) depth = t->depth;
  buf[i + depth] = 0;
  uint32_t id = intern(&buf[i], depth, epoch, guess, last);
  if (memo) {
    /* The next capture's first load: the hint of the stack after this one
     * (a table of 4 bytes a stack: a deep recursion's thousands of stacks
     * take it out of L1). */
    __builtin_prefetch(&t->next[id]);
    memo->id = id > TP_STACK_OVERFLOW ? id : 0;
    memo->skip = i;
    memo->epoch = epoch;
    atomic_signal_fence(memory_order_seq_cst);
    memo->busy = 0;
  }
  return id;
}
