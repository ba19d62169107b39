/* leak_world.c - stopping the other threads for the reachability scan, and
 * the process's readable mappings (see leak_world.h).
 *
 * Stopping: LeakSanitizer attaches to every thread with ptrace from a
 * cloned tracer task; that needs ptrace rights (Yama) and a second task
 * sharing our memory. We stop them the way the Boehm collector does on
 * Linux: a signal to each thread (tgkill) whose handler writes down the
 * thread's stack pointer, registers and thread pointer, says so, and waits
 * on a futex until the scan is over. A thread that does not answer within
 * a bound (it blocks the signal, as tierpool's own dump thread does, or it
 * is exiting) is not stopped: its stack is still scanned from the stack
 * pointer the kernel shows in /proc/self/task/TID/syscall when it sits in
 * a system call, which is where such threads sit.
 *
 * The signal's action is ours only for the scan. Before the previous one is
 * put back, the action is set to SIG_IGN, which discards a signal still
 * pending on a thread that blocks it: it would otherwise arrive later and,
 * with the default action, end the process.
 *
 * Also here: which pages are resident, and which of the program's
 * anonymous memory is a root.
 *
 * Nothing here calls malloc or takes a lock: a stopped thread may hold any.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fallback.h"
#include "large.h"
#include "layout.h"
#include "leak_world.h"
#include "os.h"
#include "sort.h"

/* SIGPWR, as the Boehm collector uses on Linux: programs hardly ever do. */
#define TP_STOP_SIGNAL SIGPWR
#define TP_STOP_WAIT_MS 500 /* for every thread to answer, all together */

static struct {
  _Atomic uint32_t epoch;   /* odd while a scan holds the world */
  tp_world_t *w;            /* the scan's thread table (read by the handlers) */
  struct sigaction old;
} tp_wd;

static long sys_gettid(void) { return syscall(SYS_gettid); }

static uintptr_t thread_pointer(void) { return (uintptr_t)__builtin_thread_pointer(); }

static void futex_wait(_Atomic uint32_t *a, uint32_t v) {
  syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *a) {
  syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static void pause_us(long us) {
  struct timespec ts = {0, us * 1000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ------------------------------------------------------------ the handler */

static void on_stop(int sig, siginfo_t *info, void *ctx) {
  (void)sig, (void)info;
  int saved = errno;
  uint32_t e = atomic_load(&tp_wd.epoch);
  tp_world_t *w = tp_wd.w;
  if (!(e & 1) || !w) goto out; /* late: the scan is over */
  long self = sys_gettid();
  tp_world_thread_t *th = NULL;
  for (uint32_t i = 0; i < w->n && !th; i++)
    if (w->threads[i].tid == self) th = &w->threads[i];
  if (!th) goto out;
  const ucontext_t *uc = ctx;
#if defined(__x86_64__)
  th->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  for (int r = 0; r < NGREG && r < TP_WORLD_REGS; r++) th->regs[r] = (uintptr_t)uc->uc_mcontext.gregs[r];
#elif defined(__aarch64__)
  th->sp = (uintptr_t)uc->uc_mcontext.sp;
  for (int r = 0; r < 31 && r < TP_WORLD_REGS; r++) th->regs[r] = (uintptr_t)uc->uc_mcontext.regs[r];
#else
  th->sp = (uintptr_t)&saved; /* the handler's own frame: above it is the thread's stack */
#endif
  th->tp = thread_pointer();
  atomic_store_explicit(&th->state, TP_THREAD_STOPPED, memory_order_release);
  while (atomic_load(&tp_wd.epoch) == e) futex_wait(&tp_wd.epoch, e);
  atomic_store_explicit(&th->state, TP_THREAD_LEFT, memory_order_release);
out:
  errno = saved;
}

/* ------------------------------------------------------------ threads */

/* The kernel's view of a thread blocked in a system call:
 * "nr arg1 .. arg6 sp pc"; 0 when it is running or unknown. */
static uintptr_t kernel_sp(long tid) {
  char path[64] = "/proc/self/task/", buf[256];
  size_t n = strlen(path);
  n += tp_fmt_u64(path + n, (uint64_t)tid);
  memcpy(path + n, "/syscall", 9);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t k = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (k <= 0) return 0;
  buf[k] = '\0';
  const char *s = buf;
  for (int field = 0; field < 7; field++) { /* skip nr and the six arguments */
    while (*s && *s != ' ') s++;
    if (!*s) return 0;
    s++;
  }
  if (s[0] != '0' || s[1] != 'x') return 0;
  uintptr_t v = 0;
  for (s += 2; *s; s++) {
    unsigned d = *s >= '0' && *s <= '9' ? (unsigned)(*s - '0')
                 : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10) : 16u;
    if (d > 15) break;
    v = v << 4 | d;
  }
  return v;
}

/* Fills w->threads with every thread of the process but the caller. */
static void list_threads(tp_world_t *w, long self) {
  w->n = 0;
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  for (;;) {
    long k = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (k <= 0) break;
    for (long off = 0; off < k;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      long tid = 0;
      const char *s = d->d_name;
      if (*s < '0' || *s > '9') continue;
      for (; *s >= '0' && *s <= '9'; s++) tid = tid * 10 + (*s - '0');
      if (tid == self || w->n >= w->cap) continue;
      tp_world_thread_t *th = &w->threads[w->n++];
      memset(th, 0, sizeof *th);
      th->tid = tid;
    }
  }
  close(fd);
}

bool tp_world_stop(tp_world_t *w) {
  memset(&w->self, 0, sizeof w->self);
  w->self.tid = sys_gettid();
  w->self.tp = thread_pointer();
  w->n = 0;
  if (!w->threads) {
    w->cap = 1u << 16;
    /* tp_os_map: the engine's own, which the scan of anonymous memory
     * leaves out (it holds addresses that are not the program's). */
    void *m = tp_os_map(w->cap * sizeof(tp_world_thread_t), true);
    if (!m) return false;
    w->threads = m;
  }
  list_threads(w, w->self.tid);
  if (!w->n) return true; /* alone: nothing to stop */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_stop;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask); /* nothing else runs on a stopped thread */
  if (sigaction(TP_STOP_SIGNAL, &sa, &tp_wd.old) != 0) return false;
  tp_wd.w = w;
  atomic_fetch_add(&tp_wd.epoch, 1); /* odd: the handlers stop */
  pid_t pid = getpid();
  for (uint32_t i = 0; i < w->n; i++)
    if (syscall(SYS_tgkill, pid, w->threads[i].tid, TP_STOP_SIGNAL) != 0)
      w->threads[i].state = TP_THREAD_GONE;
  for (int waited = 0;; waited++) {
    uint32_t pending = 0;
    for (uint32_t i = 0; i < w->n; i++)
      pending += atomic_load_explicit(&w->threads[i].state, memory_order_acquire) == TP_THREAD_ASKED;
    if (!pending || waited >= TP_STOP_WAIT_MS * 10) break;
    pause_us(100);
  }
  for (uint32_t i = 0; i < w->n; i++) {
    tp_world_thread_t *th = &w->threads[i];
    if (atomic_load_explicit(&th->state, memory_order_acquire) != TP_THREAD_ASKED) continue;
    th->sp = kernel_sp(th->tid); /* 0: running, or gone */
  }
  return true;
}

void tp_world_resume(tp_world_t *w) {
  if (!w->n || !tp_wd.w) return;
  atomic_fetch_add(&tp_wd.epoch, 1); /* even: the handlers return */
  futex_wake_all(&tp_wd.epoch);
  /* Wait for the stopped ones to leave the handler before it goes away. */
  for (int waited = 0; waited < TP_STOP_WAIT_MS * 10; waited++) {
    uint32_t in = 0;
    for (uint32_t i = 0; i < w->n; i++)
      in += atomic_load_explicit(&w->threads[i].state, memory_order_acquire) == TP_THREAD_STOPPED;
    if (!in) break;
    pause_us(100);
  }
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(TP_STOP_SIGNAL, &ign, NULL); /* discards what is still pending */
  sigaction(TP_STOP_SIGNAL, &tp_wd.old, NULL);
  tp_wd.w = NULL;
}

/* ------------------------------------------------------------ mappings */

static bool parse_hex(const char **s, uintptr_t *v) {
  uintptr_t x = 0;
  const char *p = *s;
  int n = 0;
  for (;; p++, n++) {
    unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
                 : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10) : 16u;
    if (d > 15) break;
    x = x << 4 | d;
  }
  *s = p;
  *v = x;
  return n > 0;
}

/* One line of /proc/self/maps: "lo-hi perms offset dev inode path". */
static void add_line(tp_maps_t *m, const char *line) {
  uintptr_t lo, hi;
  const char *s = line;
  if (!parse_hex(&s, &lo) || *s++ != '-' || !parse_hex(&s, &hi) || *s++ != ' ') return;
  if (s[0] != 'r') { /* only what can be read; a guard page is noted */
    if (s[0] == '-' && s[1] == '-' && s[2] == '-') m->none_hi = hi;
    return;
  }
  if (m->n >= m->cap) return;
  tp_vma_t *v = &m->v[m->n++];
  v->lo = lo;
  v->hi = hi;
  v->writable = s[1] == 'w';
  v->after_guard = m->none_hi == lo;
  /* perms, offset, device, inode, then the path (none for anonymous). */
  bool priv = s[3] == 'p';
  for (int field = 0; field < 3 && *s; field++) {
    while (*s && *s != ' ') s++;
    while (*s == ' ') s++;
  }
  bool no_inode = s[0] == '0' && s[1] == ' ';
  while (*s && *s != ' ') s++;
  while (*s == ' ') s++;
  v->anon = priv && no_inode &&
            (!*s || !strcmp(s, "[heap]") || !strncmp(s, "[anon:", 6));
}

bool tp_maps_load(tp_maps_t *m) {
  m->n = 0;
  m->none_hi = 0;
  if (!m->v) {
    m->cap = 1u << 20;
    void *p = tp_os_map(m->cap * sizeof(tp_vma_t), true); /* see tp_world_stop */
    if (!p) return false;
    m->v = p;
  }
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static char buf[65536]; /* report lock held */
  char line[512];
  size_t ll = 0;
  for (;;) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    for (ssize_t i = 0; i < k; i++) {
      if (buf[i] == '\n') {
        line[ll] = '\0';
        add_line(m, line);
        ll = 0;
      } else if (ll < sizeof line - 1) {
        line[ll++] = buf[i];
      }
    }
  }
  close(fd);
  return m->n > 0; /* the kernel lists mappings in address order */
}

const tp_vma_t *tp_maps_next(const tp_maps_t *m, uintptr_t a) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->v[mid].hi <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo < m->n ? &m->v[lo] : NULL;
}

const tp_vma_t *tp_maps_find(const tp_maps_t *m, uintptr_t a) {
  const tp_vma_t *v = tp_maps_next(m, a);
  return v && v->lo <= a ? v : NULL;
}

/* ------------------------------------------------------------ resident pages */

/* /proc/self/pagemap, open during a scan (report lock held); -1 if not. */
static int pagemap_fd = -1;

void tp_resident_open(void) { pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC); }

void tp_resident_close(void) {
  if (pagemap_fd >= 0) close(pagemap_fd);
  pagemap_fd = -1;
}

/* Pagemap's entries for n pages from pg: bit 63 present, 62 swapped. */
static bool pagemap_read(uintptr_t pg, size_t n, unsigned char *vec) {
  uint64_t e[TP_RESIDENT_CHUNK];
  off_t at = (off_t)(pg / TP_PAGE_SIZE * sizeof e[0]);
  if (pagemap_fd < 0 || pread(pagemap_fd, e, n * sizeof e[0], at) != (ssize_t)(n * sizeof e[0]))
    return false;
  for (size_t i = 0; i < n; i++) vec[i] = (e[i] >> 62) != 0;
  return true;
}

void tp_resident_init(tp_resident_t *r, const void *lo, size_t bytes) {
  r->lo = r->end = (uintptr_t)lo;
  r->hi = (uintptr_t)lo + bytes;
}

bool tp_resident(tp_resident_t *r, uintptr_t pg) {
  if (pg < r->lo || pg >= r->end) {
    r->lo = pg;
    r->end = pg + TP_RESIDENT_CHUNK * TP_PAGE_SIZE < r->hi ? pg + TP_RESIDENT_CHUNK * TP_PAGE_SIZE : r->hi;
    size_t n = (r->end - pg) / TP_PAGE_SIZE + ((r->end - pg) % TP_PAGE_SIZE != 0);
    /* mincore fails only on a page no longer mapped: nothing to read. */
    if (!pagemap_read(pg, n, r->vec) && mincore((void *)pg, r->end - pg, r->vec) != 0)
      memset(r->vec, 0, sizeof r->vec);
  }
  return r->vec[(pg - r->lo) / TP_PAGE_SIZE] & 1;
}

/* ------------------------------------------------------------ anonymous memory */

/* The program's anonymous memory is a root too, as valgrind's memcheck
 * has it (LeakSanitizer scans none): memory a program maps itself and
 * keeps pointers in, such as CPython's object arenas. Without it, the
 * dict tables that CPython's static types keep until exit (pointed to
 * only from its arenas) are "direct leaks" of every python3 run; LSan
 * reports them so. Left out: the heaps (the pool span, mimalloc's
 * segments, large blocks, whose blocks are scanned only when reached),
 * the thread stacks (scanned from their stack pointers: below them lies
 * dead data; a mapping right above a guard page is taken for one), the
 * engine's own tables (tp_os_own: they hold block
 * addresses that are not the program's) and the modules' writable
 * segments, roots of their own already (the caller passes them: a
 * module's .bss ends in an anonymous mapping, which this pass would read
 * a second time). Pages never touched are skipped (mincore): reading
 * them would only map zeros. */
#define TP_OWN_MAX 4096
#define TP_MI_SEGMENT ((uintptr_t)32 << 20) /* mimalloc 2.0.9's segment size and alignment */

static bool own_before(const void *a, const void *b) {
  return ((const uintptr_t *)a)[0] < ((const uintptr_t *)b)[0];
}

/* [lo, hi), page aligned, less the heaps; resident pages only. */
static void anon_range(uintptr_t lo, uintptr_t hi, void (*root)(uintptr_t lo, uintptr_t hi)) {
  uintptr_t a = lo;
  while (a < hi) {
    if (tp_is_pooled((void *)a)) { /* the pool span: to its end */
      a = tp_layout.base + tp_layout.span;
      continue;
    }
    /* A mimalloc segment: to its end. Asked with a byte inside the page:
     * mimalloc 2.0 looks a pointer's segment up from the byte before it
     * (a huge block aligned to a segment boundary belongs to the segment
     * below), so a segment's first byte answers for the segment before,
     * and every segment starting a chunk was scanned as a root. */
    if (tp_fwd_heap_region((void *)(a + 1))) {
      a = (a & ~(TP_MI_SEGMENT - 1)) + TP_MI_SEGMENT;
      continue;
    }
    /* A chunk stays inside one segment-aligned window and ends where the
     * pool span starts: the kernel merges neighbouring anonymous mappings,
     * so a heap can begin in the middle of a mapping. */
    uintptr_t end = a + TP_RESIDENT_CHUNK * TP_PAGE_SIZE < hi ? a + TP_RESIDENT_CHUNK * TP_PAGE_SIZE : hi;
    uintptr_t window = (a & ~(TP_MI_SEGMENT - 1)) + TP_MI_SEGMENT;
    if (end > window) end = window;
    if (tp_layout.span && a < tp_layout.base && end > tp_layout.base) end = tp_layout.base;
    size_t pages = (end - a) / TP_PAGE_SIZE;
    tp_resident_t r; /* one mincore: the chunk is at most TP_RESIDENT_CHUNK pages */
    tp_resident_init(&r, (void *)a, end - a);
    for (size_t i = 0; i < pages; i++) {
      uintptr_t pg = a + i * TP_PAGE_SIZE;
      if (!tp_resident(&r, pg)) continue;
      /* A large block (or a cached mapping) starts here: its header is on
       * this page, which is mapped. Skip the whole mapping. */
      if (tp_large_state((void *)(pg + TP_LARGE_HDR)) != TP_LARGE_NOT_OURS) {
        uintptr_t skip_to = pg + tp_large_hdr((void *)(pg + TP_LARGE_HDR))->len;
        if (skip_to > end) {
          end = skip_to;
          break;
        }
        i += (skip_to - pg) / TP_PAGE_SIZE - 1;
        continue;
      }
      root(pg, pg + TP_PAGE_SIZE);
    }
    a = end;
  }
}

void tp_anon_roots(const tp_maps_t *m, const uintptr_t *skip, size_t nskip,
                   const uintptr_t *sps, size_t nsps, void (*root)(uintptr_t lo, uintptr_t hi)) {
  /* One scan at a time (report lock); only the entries used are touched. */
  static uintptr_t own[TP_OWN_MAX + TP_ANON_SKIP_MAX][2];
  size_t n = tp_os_own(own, TP_OWN_MAX);
  for (size_t s = 0; s < nskip && s < TP_ANON_SKIP_MAX; s++, n++) {
    own[n][0] = skip[2 * s];
    own[n][1] = skip[2 * s + 1];
  }
  tp_sort(own, n, sizeof own[0], own_before);
  for (size_t i = 0; i < m->n; i++) {
    const tp_vma_t *v = &m->v[i];
    if (!v->anon || !v->writable) continue;
    /* A stack: a thread's (its stack pointer is in it), or one glibc keeps
     * for the next thread (a guard page right below it): what lies there
     * below a stack pointer is dead. */
    bool stack = v->after_guard;
    for (size_t k = 0; k < nsps && !stack; k++) stack = sps[k] - v->lo < v->hi - v->lo;
    if (stack) continue;
    /* The gaps between the engine's own mappings (the kernel merges
     * neighbouring anonymous mappings into one). */
    uintptr_t a = v->lo;
    for (size_t j = 0; j < n && a < v->hi; j++) {
      if (own[j][1] <= a || own[j][0] >= v->hi) continue;
      if (own[j][0] > a) anon_range(a, own[j][0], root);
      if (own[j][1] > a) a = own[j][1];
    }
    if (a < v->hi) anon_range(a, v->hi, root);
  }
}

