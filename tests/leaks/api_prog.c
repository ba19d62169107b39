/* api_prog.c - tierpool_mark / tierpool_leaks_since, linked with -ltierpool.
 * Prints one line per phase: "phase blocks bytes stacks". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tierpool.h"

static void *volatile sink;

__attribute__((noinline)) static void case_leaks(void) {
  for (int i = 0; i < 7; i++) sink = malloc(33);
}

__attribute__((noinline)) static void case_clean(void) {
  for (int i = 0; i < 7; i++) {
    void *p = malloc(33);
    sink = p;
    free(p);
  }
}

static void report(const char *phase, tierpool_mark_t m, int fd) {
  tierpool_leaks_t l = {0, 0, 0, 0};
  int rc = tierpool_leaks_since(m, &l, fd);
  printf("%s rc=%d %llu %llu %llu %d\n", phase, rc, (unsigned long long)l.blocks,
         (unsigned long long)l.bytes, (unsigned long long)l.stacks, l.estimated);
  fflush(stdout);
}

int main(void) {
  void *before = malloc(50); /* allocated before the mark: not counted */
  sink = before;
  tierpool_mark_t m1 = tierpool_mark();
  if (!m1) {
    printf("off\n");
    return 0;
  }
  case_clean();
  free(before); /* freeing an older block does not go negative */
  report("clean", m1, -1);
  tierpool_mark_t m2 = tierpool_mark();
  case_leaks();
  report("leaks", m2, STDERR_FILENO);
  tierpool_mark_t m3 = tierpool_mark();
  report("after", m3, -1);
  report("since_first", m1, -1);
  return 0;
}
