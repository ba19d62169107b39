/* fork() from a process whose other threads sit in stdio (getline, fflush,
 * fprintf) and in malloc/free at the moment of the fork, in the manner of
 * glibc's tst-malloc-fork-deadlock: allocators that take their locks in a
 * pthread_atfork prepare handler deadlock here. Each child allocates,
 * prints and exits. A watchdog alarm turns a deadlock into a failure. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tierpool.h"

static _Atomic int stop;
static FILE *sink;

static void *stdio_thread(void *arg) {
  (void)arg;
  char *line = NULL;
  size_t cap = 0;
  FILE *in = fopen("/proc/self/maps", "r");
  while (!atomic_load(&stop)) {
    if (!in || getline(&line, &cap, in) < 0) {
      if (in) fclose(in);
      in = fopen("/proc/self/maps", "r");
    }
    fprintf(sink, "%s", line ? line : "");
    fflush(sink);
  }
  if (in) fclose(in);
  free(line);
  return NULL;
}

static void *malloc_thread(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void *keep[64] = {0};
  while (!atomic_load(&stop)) {
    seed = seed * 1103515245u + 12345u;
    unsigned i = (seed >> 8) % 64;
    free(keep[i]);
    keep[i] = malloc(1 + (seed >> 12) % 100000);
  }
  for (int i = 0; i < 64; i++) free(keep[i]);
  return NULL;
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "fork_stdio: deadlock (watchdog fired)\n";
  if (write(2, msg, sizeof msg - 1)) {}
  _exit(2);
}

int main(void) {
  int (*stats)(tierpool_stats_t *) = (int (*)(tierpool_stats_t *))dlsym(RTLD_DEFAULT, "tierpool_stats");
  if (!stats) {
    fprintf(stderr, "tierpool is not preloaded\n");
    return 1;
  }
  signal(SIGALRM, on_alarm);
  alarm(90);
  sink = fopen("/dev/null", "w");
  pthread_t th[4];
  pthread_create(&th[0], NULL, stdio_thread, NULL);
  pthread_create(&th[1], NULL, stdio_thread, NULL);
  pthread_create(&th[2], NULL, malloc_thread, (void *)1);
  pthread_create(&th[3], NULL, malloc_thread, (void *)2);
  for (int k = 0; k < 300; k++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
      alarm(20);
      void *p[200];
      for (int i = 0; i < 200; i++) p[i] = malloc((size_t)16 << (i % 17));
      for (int i = 0; i < 200; i++) free(p[i]);
      fprintf(sink, "child %d\n", k);
      fflush(sink);
      tierpool_stats_t s;
      stats(&s);
      _exit(s.total_get > 0 ? 0 : 3);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "child %d failed (status %d)\n", k, st);
      return 1;
    }
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  printf("300 forks with threads in stdio and malloc: no deadlock\n");
  return 0;
}
