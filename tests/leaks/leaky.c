/* leaky.c - a C program that leaks on purpose, for the leak tests.
 *
 *   leaky all       every leak below, each from its own named function
 *   leaky clean     the same work, everything freed (must pass a check)
 *   leaky extra     `all` plus one more leak (a baseline must catch it)
 *   leaky fail N    leaks, then exits with status N
 *   leaky signal    leaks, then dies of SIGTERM
 *   leaky sample N  leaks N blocks of 100 bytes (for sampled estimates)
 *   leaky paths D   leaks 2 blocks of 24 bytes from each of 2^D distinct
 *                   stacks (path_leak under D levels of path_left/right)
 *   leaky signal_dump  leaks, then raises SIGUSR1 (a signal dump), then exits
 *
 * Built with -DTP_LEAKY_PAD, every function lands at another address: a
 * baseline must still match (it names functions, not addresses).
 *
 * Leaks (function: blocks x bytes):
 *   leak_shallow     3 x 100   called by main
 *   leak_deep        5 x 48    main -> deep_1 -> deep_2 -> deep_3 -> leak_deep
 *   leak_big         1 x 3 MiB forwarded to mimalloc
 *   leak_calloc      2 x 300   calloc
 *   thread_leak      8 x 64    2 in each of 4 threads, all joined before exit
 *   dl_leak          4 x 72    in libleakdl.so, dlclose'd before exit
 *   child_leak       1 x 500   in a forked child, which exits normally
 *   extra_leak       1 x 1000  only with `extra`
 *
 * Built with -O0 -fno-omit-frame-pointer -fno-builtin, and every pointer
 * goes through a volatile sink, so each call is made where it is written.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tp_test.h"

static void *volatile sink;
#ifdef TP_LEAKY_PAD
__attribute__((noinline, used)) int leaky_padding(int x) {
  volatile int a[64];
  for (int i = 0; i < 64; i++) a[i] = x * i + 7;
  return a[x & 63] + a[(x * 3) & 63];
}
#endif
static int clean; /* free what the leak functions keep */
static void *kept[64];
static int nkept;

static void keep(void *p) {
  sink = p;
  if (clean) free(p);
  else kept[nkept++ % 64] = NULL; /* forget it: a leak */
  sink = NULL; /* nothing keeps it reachable (a reachability scan must see a leak) */
}

__attribute__((noinline)) void leak_shallow(void) {
  for (int i = 0; i < 3; i++) keep(malloc(100));
}

__attribute__((noinline)) void leak_deep(void) {
  for (int i = 0; i < 5; i++) keep(malloc(48));
}
__attribute__((noinline)) void deep_3(void) { leak_deep(); }
__attribute__((noinline)) void deep_2(void) { deep_3(); }
__attribute__((noinline)) void deep_1(void) { deep_2(); }

__attribute__((noinline)) void leak_big(void) { keep(malloc(3 << 20)); }

__attribute__((noinline)) void leak_calloc(void) {
  for (int i = 0; i < 2; i++) keep(calloc(3, 100));
}

__attribute__((noinline)) void extra_leak(void) { keep(malloc(1000)); }

__attribute__((noinline)) static void *thread_leak(void *arg) {
  (void)arg;
  for (int i = 0; i < 2; i++) {
    void *p = malloc(64);
    sink = p;
    if (clean) free(p);
  }
  /* work that is freed: must not show */
  char *s = strdup("temporary");
  sink = s;
  free(s);
  sink = NULL;
  return NULL;
}

static void threads(void) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_leak, NULL);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
}

static void dl(const char *self) {
  char path[4096];
  snprintf(path, sizeof path, "%s", self);
  char *slash = strrchr(path, '/');
  snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
           "libleakdl.so");
  void *h = dlopen(path, RTLD_NOW);
  if (!h) {
    fprintf(stderr, "leaky: dlopen %s: %s\n", path, dlerror());
    exit(2);
  }
  void (*f)(int, int) = (void (*)(int, int))dlsym(h, "dl_leak");
  f(4, clean);
  dlclose(h);
}

__attribute__((noinline)) void child_leak(void) { keep(malloc(500)); }

static void forked(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    child_leak();
    wipe_stack(); /* as main does before it returns: the allocator's frames below
                   * child_leak's may have left the block's address where the
                   * exit path's frames do not overwrite it */
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) exit(2);
}

/* Work that frees everything it takes: none of it may show. */
static void balanced(void) {
  for (int i = 0; i < 1000; i++) {
    char *p = malloc((size_t)(i % 300) + 1);
    sink = p;
    p = realloc(p, (size_t)(i % 700) + 1);
    free(p);
  }
  void *big = malloc(2 << 20);
  sink = big;
  free(big);
}

/* Each path down the two call sites is a stack of its own. */
static void path_left(int d);
static void path_right(int d);
static void path_leak(void) { keep(malloc(24)); }
static void path_next(int d) {
  if (d == 0) path_leak();
  else {
    path_left(d - 1);
    path_right(d - 1);
  }
}
static void path_left(int d) { path_next(d); }
static void path_right(int d) { path_next(d); }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "all";
  if (!strcmp(mode, "paths")) {
    int d = argc > 2 ? atoi(argv[2]) : 4;
    for (int i = 0; i < 2; i++) path_next(d); /* one call site: the same stacks twice */
    wipe_stack();
    return 0;
  }
  if (!strcmp(mode, "sample")) {
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    for (int i = 0; i < n; i++) keep(malloc(100));
    wipe_stack();
    return 0;
  }
  clean = !strcmp(mode, "clean");
  printf("leaky %s\n", mode);
  balanced();
  leak_shallow();
  deep_1();
  leak_big();
  leak_calloc();
  threads();
  dl(argv[0]);
  forked();
  if (!strcmp(mode, "extra")) extra_leak();
  if (!strcmp(mode, "fail")) return argc > 2 ? atoi(argv[2]) : 1;
  if (!strcmp(mode, "signal")) raise(SIGTERM);
  if (!strcmp(mode, "signal_dump")) raise(SIGUSR1);
  wipe_stack();
  return 0;
}
