/* leaky_list.c - leaks of each kind a reachability scan tells apart, for the
 * `tierpool check` verdict tests and the comparison with LeakSanitizer.
 *
 *   leaky_list list N [STATUS]  a linked list of N nodes whose head is lost:
 *                               1 direct block (the head) and N-1 indirect
 *                               ones (only leaked nodes point to them); exits
 *                               with STATUS (default 0)
 *   leaky_list reachable        blocks still pointed to by globals at exit
 *                               (a 3-node list and a FILE from fopen): no leak
 *                               for LeakSanitizer, a live block for a raw count
 *   leaky_list mixed N          `list N`, `reachable` and one direct block
 *   leaky_list clean            the same work, everything freed
 *   leaky_list _exit            leaks, then ends in _exit(0): writes no report
 *   leaky_list tag ...          leaks one 24-byte block; the arguments only
 *                               name the process (command-line attribution)
 *
 * Leaks (function: blocks x bytes, kind):
 *   list_node          N x 48     1 direct + N-1 indirect (list, mixed)
 *   keep_node          3 x 48     reachable from `kept_list` (reachable, mixed)
 *   fopen              1 x 472    reachable from `kept_file` (reachable, mixed)
 *   lone_leak          1 x 200    direct (mixed)
 *   tagged_leak        1 x 24     direct (tag, _exit)
 *
 * Both tools scan conservatively: a stale copy of a lost pointer in a dead
 * stack frame or a register would make it reachable. Each leak is made in a
 * noinline function whose frame is then overwritten (scrub_stack), so the
 * verdicts do not depend on what the compiler leaves behind.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node {
  struct node *next;
  char payload[40];
};

static struct node *kept_list; /* still reachable at exit */
static FILE *kept_file;        /* still reachable at exit */
static int clean;              /* free everything */

__attribute__((noinline)) struct node *list_node(struct node *next) {
  struct node *n = malloc(sizeof *n);
  if (!n) exit(2);
  memset(n->payload, 'n', sizeof n->payload);
  n->next = next;
  return n;
}

static void free_list(struct node *n) {
  while (n) {
    struct node *next = n->next;
    free(n);
    n = next;
  }
}

/* Builds the list and drops its head (unless clean). */
__attribute__((noinline)) void leak_list(int n) {
  struct node *head = NULL;
  for (int i = 0; i < n; i++) head = list_node(head);
  if (clean) free_list(head);
}

__attribute__((noinline)) struct node *keep_node(struct node *next) { return list_node(next); }

__attribute__((noinline)) void keep_reachable(void) {
  for (int i = 0; i < 3; i++) kept_list = keep_node(kept_list);
  kept_file = fopen("/dev/null", "w");
  if (!kept_file) exit(2);
  if (clean) {
    free_list(kept_list);
    kept_list = NULL;
    fclose(kept_file);
    kept_file = NULL;
  }
}

__attribute__((noinline)) void lone_leak(void) {
  char *volatile p = malloc(200);
  if (clean) free(p);
  p = NULL;
}

__attribute__((noinline)) void tagged_leak(void) {
  char *volatile p = malloc(24);
  p = NULL;
}

/* Overwrites the stack below the caller's frame, where the leak functions'
 * frames were, and leaves the call-clobbered registers holding zeros. */
__attribute__((noinline)) void scrub_stack(void) {
  volatile char junk[16384];
  memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "list";
  int n = argc > 2 ? atoi(argv[2]) : 10;
  clean = !strcmp(mode, "clean");
  if (!strcmp(mode, "list")) {
    leak_list(n);
    scrub_stack();
    return argc > 3 ? atoi(argv[3]) : 0;
  }
  if (!strcmp(mode, "tag") || !strcmp(mode, "_exit")) {
    tagged_leak();
    scrub_stack();
    if (mode[0] == '_') _exit(0);
    return 0;
  }
  if (strcmp(mode, "reachable") && strcmp(mode, "mixed") && !clean) {
    fprintf(stderr, "leaky_list: unknown mode %s\n", mode);
    return 2;
  }
  if (strcmp(mode, "reachable")) leak_list(n);
  keep_reachable();
  if (strcmp(mode, "reachable")) lone_leak();
  scrub_stack();
  fputs("leaky_list\n", kept_file ? kept_file : stdout);
  return 0;
}
