/* large.c - requests of 1 MiB and more past the tiers: one mapping per
 * block, a small lock-free cache of freed mappings that decays, and mremap
 * for realloc.
 *
 * Why not mimalloc for these: mimalloc 2.0.9 gives a huge block's segment
 * back to the system at free (and resets the pages of large ones), so a
 * program that frees and allocates 5-25 MiB blocks in turn faults every
 * page in again: bench/malloc_large, mimalloc-bench's malloc-large shape,
 * took 13x glibc's page faults and 12x its system time. Its options do not
 * reach that path (segments past MI_SEGMENT_SIZE bypass the segment cache;
 * MIMALLOC_RESET_DELAY and friends only act on small pages), and tiers up
 * to 32 MiB (TIERPOOL_MAX_TIER) cost 1.38x glibc's peak RSS. glibc keeps
 * such blocks in its heap, reused, with up to 2 x 32 MiB free at the top;
 * jemalloc keeps dirty extents for dirty_decay_ms. This cache does the
 * same within a byte cap (TIERPOOL_LARGE_CACHE) and a time
 * (TIERPOOL_LARGE_DECAY_MS), measured in docs/large-blocks.md.
 *
 * The cache: TP_LARGE_SLOTS words, each a whole mapping packed as
 * (base >> 12) | (pages << 35), 0 when empty. Put is a CAS from 0, take a
 * CAS to 0, so a range belongs to exactly one thread or to the cache at
 * every instant: no lock, nothing for fork to break (the child inherits
 * the cache as it is; a range a parent thread held mid-operation is lost
 * to the child's cache, not corrupted). A take picks the smallest range
 * that fits and splits the rest off as a range of its own (an anonymous
 * mapping can be unmapped or remapped piecewise); when none fits it grows
 * the largest with mremap, so only the missing pages fault. Decay is
 * checked at every large allocation and free, and by malloc_trim.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "large.h"

#define TP_LARGE_SLOTS 16
#define TP_LARGE_ADDR_BITS 47 /* user addresses below 2^47: 35 bits of page number */

/* A take that leaves at least half of a range (and 1 MiB) unused splits
 * the rest off; less stays with the block (malloc_usable_size shows it).
 * Splitting off smaller tails fills the cache with pieces too small for the
 * next request, which then grows the largest piece page fault by page
 * fault: on bench/malloc_large, splitting tails of 1/4 or more cost 1.6x
 * the page faults of this rule, tails of 1 MiB or more 1.9x, for 5% less
 * peak RSS. */
static inline bool worth_split(size_t len, size_t need) {
  return len - need >= TP_LARGE_MIN && len - need >= len / 2;
}

static _Atomic uint64_t tp_lc_slot[TP_LARGE_SLOTS];  /* packed range; 0: empty */
static _Atomic uint64_t tp_lc_since[TP_LARGE_SLOTS]; /* ms it was cached (a hint: decay only) */
static _Atomic size_t tp_lc_bytes;                   /* bytes in the slots (may lag a put) */
static _Atomic uint64_t tp_lc_next_decay;            /* ms: the next decay scan is due */

/* ------------------------------------------------------------ ranges */

static inline uint64_t pack(uintptr_t base, size_t len) {
  return (uint64_t)(base >> 12) | ((uint64_t)(len >> 12) << (TP_LARGE_ADDR_BITS - 12));
}
static inline uintptr_t word_base(uint64_t w) {
  return (uintptr_t)(w & ((1ull << (TP_LARGE_ADDR_BITS - 12)) - 1)) << 12;
}
static inline size_t word_len(uint64_t w) { return (size_t)(w >> (TP_LARGE_ADDR_BITS - 12)) << 12; }

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* vDSO, no syscall */
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool cache_on(void) { return tp_config.large_cache > 0 && tp_config.large_decay_ms > 0; }

/* Header plus n, rounded to pages; false past the address space. */
static bool mapping_len(size_t n, size_t *len) {
  if (n > SIZE_MAX - TP_LARGE_HDR - TP_LARGE_PAGE) return false;
  *len = (n + TP_LARGE_HDR + TP_LARGE_PAGE - 1) & ~(size_t)(TP_LARGE_PAGE - 1);
  return true;
}

static void unmap(uintptr_t base, size_t len) {
  if (len) munmap((void *)base, len);
}

/* Takes slot i if it still holds w; the caller then owns the range. */
static bool claim(int i, uint64_t w) {
  if (!w || !atomic_compare_exchange_strong(&tp_lc_slot[i], &w, 0)) return false;
  atomic_fetch_sub(&tp_lc_bytes, word_len(w));
  return true;
}

/* Unmaps the range cached longest; returns its bytes (0: cache empty). */
static size_t evict_oldest(void) {
  for (int tries = 0; tries < 4; tries++) {
    int old = -1;
    uint64_t ow = 0, since = UINT64_MAX;
    for (int i = 0; i < TP_LARGE_SLOTS; i++) {
      uint64_t w = atomic_load(&tp_lc_slot[i]), s = atomic_load(&tp_lc_since[i]);
      if (w && s < since) old = i, ow = w, since = s;
    }
    if (old < 0) return 0;
    if (claim(old, ow)) {
      unmap(word_base(ow), word_len(ow));
      return word_len(ow);
    }
  }
  return 0;
}

/* Gives back what has been cached for the decay time; at most one thread
 * scans at a time, at most four times per decay period. */
static void decay(uint64_t now) {
  uint64_t due = atomic_load_explicit(&tp_lc_next_decay, memory_order_relaxed);
  if (now < due || !atomic_compare_exchange_strong(&tp_lc_next_decay, &due,
                                                   now + tp_config.large_decay_ms / 4 + 1))
    return;
  for (int i = 0; i < TP_LARGE_SLOTS; i++) {
    uint64_t w = atomic_load(&tp_lc_slot[i]);
    if (w && now - atomic_load(&tp_lc_since[i]) >= tp_config.large_decay_ms && claim(i, w))
      unmap(word_base(w), word_len(w));
  }
}

/* The range [base, base + len) is free: cache it, or unmap it when the
 * cache is off, full of younger ranges, or the range cannot be packed. */
static void cache_put(uintptr_t base, size_t len, uint64_t now) {
  size_t cap = tp_config.large_cache;
  if (!cache_on() || len > cap || (base >> TP_LARGE_ADDR_BITS) != 0) {
    unmap(base, len);
    return;
  }
  size_t total = atomic_fetch_add(&tp_lc_bytes, len) + len;
  while (total > cap) {
    size_t got = evict_oldest();
    if (!got) break;
    total -= got;
  }
  if (total <= cap) {
    uint64_t w = pack(base, len);
    for (int pass = 0; pass < 2; pass++) {
      for (int i = 0; i < TP_LARGE_SLOTS; i++) {
        uint64_t empty = 0;
        if (atomic_load_explicit(&tp_lc_slot[i], memory_order_relaxed)) continue;
        atomic_store(&tp_lc_since[i], now);
        if (atomic_compare_exchange_strong(&tp_lc_slot[i], &empty, w)) return;
      }
      if (!evict_oldest()) break; /* every slot taken: the oldest makes room */
    }
  }
  atomic_fetch_sub(&tp_lc_bytes, len);
  unmap(base, len);
}

/* The smallest cached range of at least need bytes, else the largest one;
 * 0 when the cache is empty. *len gets its length. */
static uintptr_t cache_take(size_t need, size_t *len) {
  for (int tries = 0; tries < 4; tries++) {
    int fit = -1, big = -1;
    uint64_t fw = 0, bw = 0;
    for (int i = 0; i < TP_LARGE_SLOTS; i++) {
      uint64_t w = atomic_load_explicit(&tp_lc_slot[i], memory_order_relaxed);
      if (!w) continue;
      size_t l = word_len(w);
      if (l >= need && (fit < 0 || l < word_len(fw))) fit = i, fw = w;
      if (big < 0 || l > word_len(bw)) big = i, bw = w;
    }
    if (fit < 0) fit = big, fw = bw;
    if (fit < 0) return 0;
    if (claim(fit, fw)) {
      *len = word_len(fw);
      return word_base(fw);
    }
  }
  return 0;
}

size_t tp_large_release(void) {
  size_t released = 0;
  for (int i = 0; i < TP_LARGE_SLOTS; i++) {
    uint64_t w = atomic_load(&tp_lc_slot[i]);
    if (claim(i, w)) {
      unmap(word_base(w), word_len(w));
      released += word_len(w);
    }
  }
  return released;
}

/* ------------------------------------------------------------ blocks */

static void *set_header(uintptr_t base, size_t len) {
  tp_large_hdr_t *h = (tp_large_hdr_t *)base;
  void *p = (void *)(base + TP_LARGE_HDR);
  h->len = len;
  h->magic = tp_free_key ^ (uintptr_t)p;
  return p;
}

/* Bytes of address space the process has mapped (/proc/self/statm's first
 * field); false when it cannot be read. Reads into a stack buffer: no
 * allocation. */
static bool vm_bytes(size_t *out) {
  char buf[64];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) return false;
  size_t pages = 0;
  for (ssize_t i = 0; i < got && buf[i] >= '0' && buf[i] <= '9'; i++)
    pages = pages * 10 + (size_t)(buf[i] - '0');
  *out = pages * TP_LARGE_PAGE;
  return true;
}

/* After the kernel refused a mapping of need bytes (ENOMEM): whether
 * unmapping the cache can make room for it. Under RLIMIT_AS it cannot when
 * the address space in use besides the cache leaves no room for need: a
 * request of 2 GiB under a 1 GiB limit (bench rlimit_as, glibc's
 * tst-malloc-thread-fail) used to empty the cache on its way to ENOMEM,
 * and every warm range the program freed faulted in again (1.45x glibc's
 * time). Without a limit the refusal is the commit charge, which the
 * cache's pages do count against. A failure path: the system calls here
 * cost nothing next to the faults they save. */
static bool release_may_help(size_t need) {
  size_t cached = atomic_load(&tp_lc_bytes), vm;
  if (cached == 0) return false;
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return true;
  if (need > rl.rlim_cur) return false;
  if (!vm_bytes(&vm)) return true;
  size_t rest = vm > cached ? vm - cached : 0;
  return rest <= rl.rlim_cur - need;
}

/* A fresh mapping; when the system says no, the cache goes back first
 * (where that can make room). */
static uintptr_t map_fresh(size_t len) {
  for (int tries = 0; tries < 2; tries++) {
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) return (uintptr_t)m;
    if (errno != ENOMEM || !release_may_help(len) || !tp_large_release()) break;
  }
  return 0;
}

/* mremap with MAYMOVE, the cache given back on ENOMEM where that can make
 * room; 0 on failure (EFAULT too: a range the program split with
 * mprotect). */
static uintptr_t remap(uintptr_t base, size_t len, size_t need) {
  for (int tries = 0; tries < 2; tries++) {
    void *m = mremap((void *)base, len, need, MREMAP_MAYMOVE);
    if (m != MAP_FAILED) return (uintptr_t)m;
    if (errno != ENOMEM || !release_may_help(need - len) || !tp_large_release()) break;
  }
  return 0;
}

void *tp_large_alloc(size_t n, bool zero) {
  size_t need, len = 0, dirty = 0; /* dirty: leading bytes that may hold old data */
  if (!mapping_len(n, &need)) goto enomem;
  uint64_t now = now_ms();
  uintptr_t base = 0;
  if (cache_on()) {
    decay(now);
    base = cache_take(need, &len);
  }
  if (base && len > need && worth_split(len, need)) {
    cache_put(base + need, len - need, now);
    len = need;
  }
  if (base && len < need) {
    uintptr_t m = remap(base, len, need);
    /* Refused: the range stays warm in the cache for a request it fits. */
    if (!m) cache_put(base, len, now);
    dirty = m ? len : 0;
    base = m;
    len = need;
  } else if (base) {
    dirty = len;
  }
  if (!base) {
    base = map_fresh(need);
    len = need;
    if (!base) goto enomem;
  }
  void *p = set_header(base, len);
  if (zero && dirty) memset(p, 0, n < dirty - TP_LARGE_HDR ? n : dirty - TP_LARGE_HDR);
  return p;
enomem:
  errno = ENOMEM;
  return NULL;
}

void tp_large_free(void *p) {
  tp_large_hdr_t *h = tp_large_hdr(p);
  size_t len = h->len;
  h->magic = tp_free_key ^ (uintptr_t)p ^ TP_LARGE_CACHED;
  uint64_t now = now_ms();
  if (cache_on()) decay(now);
  cache_put((uintptr_t)h, len, now);
}

void *tp_large_realloc(void *p, size_t n) {
  tp_large_hdr_t *h = tp_large_hdr(p);
  uintptr_t base = (uintptr_t)h;
  size_t len = h->len, need;
  if (!mapping_len(n, &need)) goto enomem;
  if (need <= len) {
    /* Shrink in place; a tail worth keeping goes to the cache. */
    if (worth_split(len, need)) {
      h->len = need;
      cache_put(base + need, len - need, now_ms());
    }
    return p;
  }
  uintptr_t m = remap(base, len, need);
  if (m) return set_header(m, need);
  /* The kernel would not remap it: copy into a new block. */
  void *q = tp_large_alloc(n, false);
  if (!q) goto enomem;
  memcpy(q, p, len - TP_LARGE_HDR);
  tp_large_free(p);
  return q;
enomem:
  errno = ENOMEM;
  return NULL;
}

void tp_large_double_free(const void *p) {
  tp_warn("double free: %p (a block of 1 MiB or more, already freed); aborting", p);
  abort();
}
