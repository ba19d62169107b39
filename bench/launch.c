/* launch - runs one command for scripts/bench and reports what it cost.
 *
 *   launch RESULT_FILE CMD [ARG...]
 *
 * Forks, execs CMD with the environment it was given (TPBENCH_PRELOAD, if
 * set, becomes the child's LD_PRELOAD, so the launcher itself runs on
 * glibc malloc), reaps it with wait4(2) and writes one line to RESULT_FILE:
 *
 *   status=W wall=S utime=S stime=S maxrss_kib=N
 *
 * W is the raw wait status. utime, stime and maxrss come from the rusage
 * wait4 returns for the child, which the kernel fills in with the child's
 * own figures and those of every descendant it waited for; maxrss is the
 * largest peak of any one of those processes.
 *
 * Why a launcher at all: a process forked from the runner (python, tens of
 * MiB resident) carries that RSS until it execs, and the kernel keeps it as
 * the child's peak. Forked from this small program, the floor is about
 * 1 MiB, as under GNU time, and the same for every allocator. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double secs(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6; }

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: launch RESULT_FILE CMD [ARG...]\n");
    return 2;
  }
  double t0 = now();
  pid_t pid = fork();
  if (pid < 0) {
    perror("launch: fork");
    return 2;
  }
  if (pid == 0) {
    const char *pre = getenv("TPBENCH_PRELOAD");
    if (pre) {
      setenv("LD_PRELOAD", pre, 1);
      unsetenv("TPBENCH_PRELOAD");
    }
    execvp(argv[2], argv + 2);
    perror("launch: exec");
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("launch: wait4");
    return 2;
  }
  double wall = now() - t0;
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    perror("launch: result file");
    return 2;
  }
  fprintf(f, "status=%d wall=%.6f utime=%.6f stime=%.6f maxrss_kib=%ld\n", status, wall,
          secs(ru.ru_utime), secs(ru.ru_stime), ru.ru_maxrss);
  return fclose(f) == 0 ? 0 : 2;
}
