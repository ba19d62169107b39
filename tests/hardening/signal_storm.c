/* signal_storm: signal handlers that call malloc and free (not
 * async-signal-safe, but programs do it) while other threads allocate and
 * free. One thread takes SIGUSR1 (sent by another thread as fast as it can)
 * and SIGALRM (an interval timer); all other threads block both. The
 * handler allocates a block, fills and checks it, and either frees it or
 * hands it to the workers, and frees blocks the workers handed to it. The
 * workers allocate, reallocate and free with content checks, and free the
 * handler's blocks. Nothing may be corrupted or crash.
 *
 *   signal_storm [SECONDS [same]]   "same": the signalled thread also
 *                                   allocates between signals (reentrant
 *                                   use of its own cache: unsupported,
 *                                   as with glibc; for experiments only)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

enum { BOXES = 32, WORKERS = 2 };
static _Atomic(void *) to_workers[BOXES]; /* handler -> workers */
static _Atomic(void *) to_handler[BOXES]; /* workers -> handler */
static _Atomic int stop, target_ready;
static _Atomic unsigned long handled;
static _Atomic int bad;
static int same_thread;

/* A block: word 0 its length, word 1 its tag, the rest filled. */
static void *make(size_t n, uint64_t tag) {
  uint64_t *p = malloc(n);
  if (!p) return NULL;
  p[0] = n;
  p[1] = tag;
  fill(p + 2, n - 16, tag);
  return p;
}
static int intact(void *b) {
  uint64_t *p = b;
  return check_fill(p + 2, p[0] - 16, p[1]);
}

static void handler(int sig) {
  int saved = errno;
  static __thread uint64_t s = 12345;
  s += (uint64_t)sig;
  size_t n = 16 + rnd(&s) % 20000;
  void *p = make(n, rnd(&s));
  if (!p || !intact(p)) atomic_store(&bad, 1);
  if (p && rnd(&s) % 2) {
    void *old = atomic_exchange(&to_workers[rnd(&s) % BOXES], p);
    if (old) {
      if (!intact(old)) atomic_store(&bad, 2);
      free(old);
    }
  } else {
    free(p);
  }
  void *w = atomic_exchange(&to_handler[rnd(&s) % BOXES], NULL);
  if (w) {
    if (!intact(w)) atomic_store(&bad, 3);
    free(w);
  }
  atomic_fetch_add(&handled, 1);
  errno = saved;
}

static void *target(void *arg) {
  (void)arg;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, SIGALRM);
  pthread_sigmask(SIG_UNBLOCK, &m, NULL);
  atomic_store(&target_ready, 1);
  static unsigned char buf[4096];
  uint64_t s = 99;
  fill(buf, sizeof buf, 9);
  while (!atomic_load(&stop)) {
    if (same_thread) {
      size_t n = 16 + rnd(&s) % 5000;
      void *p = make(n, n);
      CHECK(p && intact(p));
      free(p);
    } else {
      CHECK(check_fill(buf, sizeof buf, 9)); /* work that does not allocate */
    }
  }
  return NULL;
}

static void *worker(void *arg) {
  uint64_t s = (uint64_t)(uintptr_t)arg * 7919;
  void *slot[128] = {0};
  while (!atomic_load(&stop)) {
    int k = (int)(rnd(&s) % 128);
    if (slot[k]) {
      CHECK(intact(slot[k]));
      if (rnd(&s) % 3 == 0) { /* realloc: the content up to the smaller length survives */
        uint64_t *o = slot[k], n0 = o[0], tag = o[1];
        size_t m = 16 + rnd(&s) % 70000;
        uint64_t *q = realloc(o, m);
        CHECK(q && q[1] == tag && check_fill(q + 2, (n0 < m ? n0 : m) - 16, tag));
        q[0] = m;
        fill(q + 2, m - 16, tag);
        slot[k] = q;
        continue;
      }
      free(slot[k]);
    }
    slot[k] = make(16 + rnd(&s) % 70000, rnd(&s));
    CHECK(slot[k]);
    void *h = atomic_exchange(&to_workers[rnd(&s) % BOXES], NULL);
    if (h) {
      CHECK(intact(h));
      free(h);
    }
    void *g = make(16 + rnd(&s) % 3000, rnd(&s));
    CHECK(g);
    void *old = atomic_exchange(&to_handler[rnd(&s) % BOXES], g);
    if (old) {
      CHECK(intact(old));
      free(old);
    }
  }
  for (int k = 0; k < 128; k++) free(slot[k]);
  return NULL;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 3;
  same_thread = argc > 2 && !strcmp(argv[2], "same");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  /* One handler at a time: a handler interrupting the other on the same
   * thread would be reentrant use of that thread's cache (see "same"). */
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR1);
  sigaddset(&sa.sa_mask, SIGALRM);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &m, NULL); /* inherited: only the target unblocks */
  pthread_t tt, w[WORKERS];
  CHECK(pthread_create(&tt, NULL, target, NULL) == 0);
  for (int i = 0; i < WORKERS; i++) CHECK(pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
  while (!atomic_load(&target_ready)) sched_yield();
  struct itimerval it = {{0, 200}, {0, 200}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned long sent = 0;
  do {
    pthread_kill(tt, SIGUSR1);
    sent++;
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 < seconds &&
           !atomic_load(&bad));
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  atomic_store(&stop, 1);
  CHECK(pthread_join(tt, NULL) == 0);
  for (int i = 0; i < WORKERS; i++) CHECK(pthread_join(w[i], NULL) == 0);
  for (int i = 0; i < BOXES; i++) {
    void *a = atomic_exchange(&to_workers[i], NULL), *b = atomic_exchange(&to_handler[i], NULL);
    CHECK(!a || intact(a));
    CHECK(!b || intact(b));
    free(a);
    free(b);
  }
  printf("signal_storm: %lu signals sent, %lu handled, corruption=%d\n", sent,
         (unsigned long)atomic_load(&handled), atomic_load(&bad));
  CHECK(atomic_load(&bad) == 0);
  CHECK(atomic_load(&handled) > 300);
  return 0;
}
