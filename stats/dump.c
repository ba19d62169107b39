/* dump.c - when dumps are written: the four triggers (exit, signal,
 * interval, API), one dump from snapshot to write(2), and the process life
 * of the stats layer (start, fork child). Where they go is dest.c.
 *
 * A dump may run in a signal handler that interrupted malloc, or while
 * another thread sits in malloc with the engine's structures half updated.
 * So a dump calls only async-signal-safe functions (open, read, write,
 * close, rename, readlink, getcwd, clock_gettime, getpid), never malloc or
 * stdio, and
 * takes no lock that malloc takes. Its buffers are static, guarded by
 * `owner`, a thread id taken with compare-and-swap:
 *   - another thread's dump in progress: wait for it (it finishes: it holds
 *     nothing and waits on nothing of ours), up to a bound;
 *   - this thread's own dump (a signal interrupted it): skip, return -1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h> /* rename(2) only: no stdio stream is used */
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "dest.h"
#include "options.h"
#include "quiet_thread.h"
#include "leak.h"
#include "live.h"
#include "snapshot.h"
#include "stats.h"

/* One dump's output, built whole so that a dump appended to a shared file
 * is a single write(2) (appends of one write do not interleave). */
#define TP_DUMP_BUF (64 * 1024)

TP_START_DATA static struct {
  _Atomic long owner;       /* thread id holding the buffers below, 0 if none */
  _Atomic bool started;     /* tp_stats_start ran */
  _Atomic bool stopping;    /* the exit dump has begun: no more dumps */
  bool wrote_once;          /* this process has written a file dump (owner) */
  bool have_old;            /* old holds the handler we replaced */
  struct sigaction old;     /* the previous handler of tp_stats_config.signal */
} tp_dump;

/* The dump's working storage, static rather than on the stack: a signal
 * dump may run on a small alternate signal stack (SA_ONSTACK). */
static char tp_dump_buf[TP_DUMP_BUF];
static tierpool_stats_t tp_dump_snap;
static uint64_t tp_dump_lengths[TP_DUMP_LENGTHS_MAX];

/* ------------------------------------------------------------ helpers */

static long self_tid(void) { return syscall(SYS_gettid); }

static void pause_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Waits up to max_ms for another thread's dump; false if this thread's own
 * dump is in progress (re-entry from a signal) or the wait ran out. */
static bool acquire(long max_ms) {
  long self = self_tid();
  for (long waited = 0;; waited++) {
    long expect = 0;
    if (atomic_compare_exchange_strong(&tp_dump.owner, &expect, self)) return true;
    if (expect == self || waited >= max_ms) return false;
    pause_ms(1);
  }
}

static void release(void) { atomic_store(&tp_dump.owner, 0); }

/* Dumps to a file append (JSON lines) when more than one may come: with
 * interval or signal dumps on, and after this process's first dump. The
 * first dump of an exit-only run truncates what an earlier run left. */
static bool appending(const tp_stats_config_t *cfg) {
  return cfg->interval > 0 || cfg->signal != 0 || tp_dump.wrote_once;
}

/* ------------------------------------------------------------ the dump */

static int dump_locked(enum tp_dump_reason reason) {
  const tp_stats_config_t *cfg = &tp_stats_config;
  bool file = tp_dest_is_file();
  bool prom_file = file && cfg->format == TP_FORMAT_PROMETHEUS;
  const char *path, *tmp;
  int fd = tp_dest_open(appending(cfg), prom_file, &path, &tmp);
  if (fd < 0) return -1;

  tp_stats_collect(&tp_dump_snap);
  size_t want = tp_config.ring < TP_DUMP_LENGTHS_MAX ? tp_config.ring : TP_DUMP_LENGTHS_MAX;
  size_t nlen = want ? tp_recent_lengths(tp_dump_lengths, want) : 0;

  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tp_dump_meta_t meta = {
      .reason = reason, .pid = getpid(),
      .time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec,
      .options = tp_all_options, .noptions = 2};
  tp_dest_identity(&meta);

  tp_out_t out;
  tp_out_init(&out, tp_dump_buf, sizeof tp_dump_buf, fd);
  tp_emitter_t e;
  tp_emit_init(&e, (enum tp_format)cfg->format, &out);
  tp_render_ex(&e, &tp_dump_snap, tp_dump_lengths, nlen, &meta,
               tp_leak_mode ? tp_leak_render : NULL, &meta.reason);
  bool ok = tp_out_flush(&out);
  if (file) {
    ok &= close(fd) == 0 || errno == EINTR;
    if (prom_file) {
      if (ok) ok = rename(tmp, path) == 0;
      if (!ok) unlink(tmp);
    }
    tp_dump.wrote_once = true;
  }
  if (!ok) TP_WARN_ERRNO_ONCE(errno, "TIERPOOL_STATS: writing the dump failed");
  return ok ? 0 : -1;
}

int tp_stats_dump(enum tp_dump_reason reason) {
  int saved = errno; /* a signal handler or an API call must not change errno */
  int rc = -1;
  if (reason != TP_DUMP_EXIT && atomic_load(&tp_dump.stopping)) goto out;
  /* A signal handler waits less: it holds up the program's own thread. */
  if (!acquire(reason == TP_DUMP_SIGNAL ? 2000 : 10000)) goto out;
  /* Checked again under owner: no dump may follow the exit dump. */
  if (reason == TP_DUMP_EXIT || !atomic_load(&tp_dump.stopping)) rc = dump_locked(reason);
  release();
out:
  errno = saved;
  return rc;
}

TP_API int tierpool_dump(void) { return tp_stats_dump(TP_DUMP_API); }

/* ------------------------------------------------------------ triggers */

static void on_signal(int sig, siginfo_t *info, void *uctx) {
  int saved = errno;
  tp_stats_dump(TP_DUMP_SIGNAL);
  if (tp_dump.have_old) {
    const struct sigaction *old = &tp_dump.old;
    if (old->sa_flags & SA_SIGINFO) {
      old->sa_sigaction(sig, info, uctx);
    } else if (old->sa_handler == SIG_DFL &&
               (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)) {
      /* Dump, then die as the signal would have made us: re-raise it with
       * the default action; it is delivered when this handler returns. */
      signal(sig, SIG_DFL);
      raise(sig);
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
      old->sa_handler(sig);
    }
  }
  errno = saved;
}

static void install_signal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, &tp_dump.old) == 0) {
    tp_dump.have_old = true;
  } else {
    TP_WARN_ERRNO_ONCE(errno, "TIERPOOL_SIGNAL: cannot install the handler; no signal dumps");
  }
}

/* The dump thread: interval dumps and the live file's refresh. It blocks
 * every signal (the program's signals go to the program's threads), never
 * calls malloc, and has no thread cache. */
static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *dump_thread(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "tierpool-dump");
  const uint64_t sec = 1000000000u;
  uint64_t interval = tp_stats_config.interval * sec;
  uint64_t tick = tp_stats_config.live ? sec : interval;
  uint64_t next_tick = mono_ns(), next_dump = next_tick + interval;
  if (tp_stats_config.live) tp_live_publish();
  for (;;) {
    next_tick += tick;
    struct timespec ts = {(time_t)(next_tick / sec), (long)(next_tick % sec)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
    if (atomic_load(&tp_dump.stopping)) break;
    if (tp_stats_config.live) tp_live_publish();
    if (interval && mono_ns() + tick / 2 >= next_dump) {
      tp_stats_dump(TP_DUMP_INTERVAL);
      next_dump += interval;
    }
  }
  return NULL;
}

TP_RESIDENT static void start_thread(void) {
  if (!tp_stats_config.interval && !tp_stats_config.live) return;
  int rc = tp_quiet_thread_start(dump_thread);
  if (rc != 0)
    TP_WARN_ERRNO_ONCE(rc, "cannot start the dump thread: no interval dumps, no live file");
}

/* The exit dump runs from the library's destructor, late: after main
 * returned, after the program's atexit handlers and after the destructors
 * of objects loaded after the library, so frees made on the way out are
 * counted. A process that ends in _exit or by a signal has no exit dump. */
__attribute__((destructor, noinline)) static void tp_stats_stop(void) {
  if (!atomic_load(&tp_dump.started)) return;
  tp_leak_scan_from(__builtin_frame_address(0));
  atomic_store(&tp_dump.stopping, true);
  if (tp_stats_config.at_exit && tp_stats_config.stats[0]) tp_stats_dump(TP_DUMP_EXIT);
  /* TIERPOOL_LEAKS alone: the leaks, if any. Not when only the heap
   * profile turned the sampler on: its user asked for a profile file. */
  else if (tp_stats_config.at_exit && tp_stats_config.leaks != TP_LEAKS_OFF) tp_leak_report_exit();
  tp_leak_scan_from(NULL); /* a later report (another destructor's) has frames of its own */
  tp_live_stop();
}

void tp_stats_start(void) {
  if (atomic_exchange(&tp_dump.started, true)) return;
  tp_stats_options_load();
  tp_dest_start();
  tp_leak_start(); /* before any thread of ours: it installs the engine's hooks */
  if (tp_stats_config.signal) install_signal(tp_stats_config.signal);
  if (tp_stats_config.live) tp_live_start();
  start_thread();
}

void tp_stats_fork_child(void) {
  if (!atomic_load(&tp_dump.started)) return;
  /* The parent's threads are gone: a dump one of them had begun will not
   * finish, and the child's files are its own (%p). */
  atomic_store(&tp_dump.owner, 0);
  tp_dump.wrote_once = false;
  tp_dest_fork_child();
  tp_leak_fork_child();
  if (tp_stats_config.live) tp_live_fork_child();
  start_thread();
}
