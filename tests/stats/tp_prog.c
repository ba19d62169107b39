/* tp_prog.c - a deterministic program for the preloaded stats tests.
 *
 *   tp_prog pattern        1000 gets of 100 B (500 put back), 10 of 3000 B
 *   tp_prog storm          2 threads malloc/free until stdin closes; prints
 *                          "ready" once they run (the test sends signals)
 *   tp_prog fork N         the pattern, then N children that allocate and exit
 *   tp_prog sleep MS       the pattern, then allocates for MS milliseconds
 *   tp_prog api            the pattern, then tierpool_dump() twice
 *   tp_prog leftover DIR   writes DIR/tp.<pid>.json as an earlier run with the
 *                          same pid would have left it, then the pattern
 *   tp_prog hello          "hello from main" on stderr, then the pattern
 *   tp_prog peak N         N gets of 128 B, all put back, then 10 kept; a
 *                          thread does the same with N/2 of 4 KiB meanwhile
 *
 * Every pointer goes through a volatile sink so the compiler cannot elide
 * a malloc/free pair.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;
static void *kept[1010];

static void pattern(void) {
  for (int i = 0; i < 1000; i++) sink = kept[i] = malloc(100);
  for (int i = 0; i < 500; i++) free(kept[i]);
  for (int i = 0; i < 10; i++) sink = kept[1000 + i] = malloc(3000);
}

/* ------------------------------------------------------------ peak */

static void *peak_thread(void *arg) {
  int n = (int)(intptr_t)arg;
  void **p = calloc((size_t)n, sizeof *p);
  for (int i = 0; i < n; i++) sink = p[i] = malloc(4000);
  for (int i = 0; i < n; i++) free(p[i]);
  free(p);
  return NULL;
}

static int peak(int n) {
  void **p = calloc((size_t)n, sizeof *p);
  for (int i = 0; i < n; i++) sink = p[i] = malloc(120);
  for (int i = 0; i < n; i++) free(p[i]);
  pthread_t t;
  pthread_create(&t, NULL, peak_thread, (void *)(intptr_t)(n / 2));
  pthread_join(t, NULL);
  for (int i = 0; i < 10; i++) sink = p[i] = malloc(120);
  return 0;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ storm */

static atomic_bool stop;
static atomic_int running;

/* Signal handlers of the storm run on a small alternate stack, as in
 * programs (Rust's, for one) that set one per thread: a dump must fit. */
static void small_altstack(void) {
  static _Thread_local char altstack[12 * 1024];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
}

static void *storm_thread(void *arg) {
  uint64_t x = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
  void *slots[64] = {0};
  small_altstack();
  atomic_fetch_add(&running, 1);
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: deterministic per thread */
    unsigned i = (unsigned)(x % 64);
    free(slots[i]);
    slots[i] = malloc(1 + (size_t)(x >> 40) % 5000);
    memset(slots[i], 0xa5, 8);
  }
  for (unsigned i = 0; i < 64; i++) free(slots[i]);
  return NULL;
}

static int storm(void) {
  small_altstack();
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, storm_thread, (void *)(uintptr_t)(i + 1));
  while (atomic_load(&running) < 2) usleep(1000);
  printf("ready\n");
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {} /* until the test closes stdin */
  atomic_store(&stop, true);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  return 0;
}

/* ------------------------------------------------------------ others */

static int forks(int n) {
  pattern();
  for (int i = 0; i < n; i++) {
    fflush(stdout); /* or each child would print the parent's buffer again */
    pid_t pid = fork();
    if (pid == 0) {
      for (int k = 0; k < 100 * (i + 1); k++) free(sink = malloc(64));
      exit(0); /* a normal exit: the child writes its own exit dump */
    }
    printf("%d\n", (int)pid);
  }
  int status, bad = 0;
  while (wait(&status) > 0) bad |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  return bad;
}

static int sleeper(int ms) {
  pattern();
  printf("%d\n", (int)getpid());
  fflush(stdout);
  uint64_t end = now_ms() + (uint64_t)ms;
  while (now_ms() < end) {
    for (int k = 0; k < 100; k++) free(sink = malloc(200));
    usleep(10000);
  }
  return 0;
}

static int api(void) {
  pattern();
  int (*dump)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "tierpool_dump");
  if (!dump) {
    fprintf(stderr, "tierpool_dump is not in the process\n");
    return 2;
  }
  return dump() != 0 || dump() != 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "pattern";
  if (!strcmp(mode, "pattern")) return pattern(), 0;
  if (!strcmp(mode, "storm")) return storm();
  if (!strcmp(mode, "fork")) return forks(argc > 2 ? atoi(argv[2]) : 3);
  if (!strcmp(mode, "sleep")) return sleeper(argc > 2 ? atoi(argv[2]) : 1000);
  if (!strcmp(mode, "api")) return api();
  if (!strcmp(mode, "leftover") && argc > 2) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tp.%d.json", argv[2], (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) return 2;
    fputs("left by an earlier run\n", f);
    fclose(f);
    return pattern(), 0;
  }
  if (!strcmp(mode, "hello")) return fputs("hello from main\n", stderr), pattern(), 0;
  if (!strcmp(mode, "peak")) return peak(argc > 2 ? atoi(argv[2]) : 5000);
  fprintf(stderr, "usage: tp_prog pattern|storm|fork N|sleep MS|api\n");
  return 2;
}
