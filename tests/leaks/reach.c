/* reach.c - blocks left at exit, each kind on purpose, for the
 * reachability tests (reach_tests.py). Every block comes from its own named
 * function, so a report's innermost frame says which case it is.
 *
 *   reach list N     a linked list of N nodes leaked: 1 direct, N-1 indirect
 *                    (list_node), and its head's pointer hidden (list_head
 *                    holds nothing else)
 *   reach global     global_kept: reachable from a global; global_lost: its
 *                    only pointer is hidden (XOR) in a global: direct
 *   reach interior   interior_kept: a global points 24 bytes into it:
 *                    reachable
 *   reach thread     thread_kept: reachable only from the stack of a thread
 *                    blocked in read(2) while main exits
 *   reach tls        tls_kept: reachable only from a __thread variable of
 *                    the main thread
 *   reach big        big_lost: 8 MiB (forwarded to mimalloc), leaked:
 *                    direct; big_child: a pooled block that only big_lost
 *                    points to: indirect; big_kept: 8 MiB reachable from a
 *                    global, and big_kept_child, reachable through it
 *   reach cycle      cycle_node: two blocks pointing to each other, leaked:
 *                    both indirect (as LeakSanitizer counts them)
 *   reach swapped    swapped_anon_kept: its only pointer in a page of
 *                    anonymous memory, swapped_global_kept: in a page of
 *                    .bss, both pages then paged out (MADV_PAGEOUT): both
 *                    reachable. Prints "swapped N" on stderr, N of the two
 *                    pages the kernel put in swap (none without swap)
 *   reach repeat N   N rounds of: alt_a and alt_b called in turn from one
 *                    call site (through a pointer), each leaking a block;
 *                    rec_alloc at recursion depth round % 7 from from_x or
 *                    from_y. Stacks that repeat from the same stack address:
 *                    the capture cache must still tell them apart
 *   reach double     frees badfree_block in badfree_release, then again
 *                    (tierpool aborts, naming the stack that allocated it,
 *                    and with TIERPOOL_LEAKS_FREES the one that freed it)
 *   reach middle     frees a pointer 8 bytes into badfree_block (the same)
 *   reach big_middle frees a pointer 16 bytes into big_badfree_block's 2 MiB
 *                    (a forwarded block: the same)
 *
 * Built -O0 with frame pointers; pointers go through volatile globals so
 * the compiler keeps every store where it is written.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tp_test.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define HIDE ((uintptr_t)0x5a5a5a5a5a5a5a5aull) /* a pointer XORed with it is no pointer */

static void *volatile g_kept;
static volatile uintptr_t g_hidden;
static char *volatile g_interior;
static __thread void *volatile tls_slot;

struct node {
  struct node *next;
  char payload[40];
};

__attribute__((noinline)) struct node *list_node(struct node *next) {
  struct node *n = malloc(sizeof *n);
  n->next = next;
  return n;
}

__attribute__((noinline)) struct node *list_head(struct node *next) {
  struct node *n = malloc(sizeof *n); /* a head of its own stack: the direct one */
  n->next = next;
  return n;
}

__attribute__((noinline)) static void make_list(int n) {
  struct node *l = NULL;
  for (int i = 1; i < n; i++) l = list_node(l);
  g_hidden = (uintptr_t)list_head(l) ^ HIDE;
}

__attribute__((noinline)) void *global_kept(void) { return malloc(64); }
__attribute__((noinline)) void *global_lost(void) { return malloc(96); }
__attribute__((noinline)) void *interior_kept(void) { return malloc(200); }
__attribute__((noinline)) void *tls_kept(void) { return malloc(112); }
__attribute__((noinline)) void *thread_kept(void) { return malloc(136); }
__attribute__((noinline)) void *big_lost(void) { return malloc(8u << 20); }
__attribute__((noinline)) void *big_kept(void) { return malloc(8u << 20); }
__attribute__((noinline)) void *big_child(void) { return malloc(72); }
__attribute__((noinline)) void *big_kept_child(void) { return malloc(88); }
__attribute__((noinline)) void *cycle_node(void) { return malloc(56); }
__attribute__((noinline)) void *swapped_anon_kept(void) { return malloc(152); }
__attribute__((noinline)) void *swapped_global_kept(void) { return malloc(120); }

static char swap_page[4096] __attribute__((aligned(4096))); /* a page of .bss of its own */
static char *volatile g_anon_page;

/* Whether the kernel keeps page p in swap (/proc/self/pagemap, bit 62). */
static int swapped(const void *p) {
  uint64_t e = 0;
  int fd = open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t k = pread(fd, &e, sizeof e, (off_t)((uintptr_t)p / 4096 * sizeof e));
  close(fd);
  return k == (ssize_t)sizeof e && (e >> 62 & 1);
}
__attribute__((noinline)) char *badfree_block(void) { return malloc(40); }
__attribute__((noinline)) char *big_badfree_block(void) { return malloc(2u << 20); }
__attribute__((noinline)) void badfree_release(char *p) {
  free(p);
  g_hidden ^= 1; /* not a tail call: this frame stays on the stack */
}
__attribute__((noinline)) void *alt_a(void) { return malloc(24); }
__attribute__((noinline)) void *alt_b(void) { return malloc(24); }
__attribute__((noinline)) void *rec_alloc(int d) {
  void *p = d ? rec_alloc(d - 1) : malloc(32);
  __asm__ volatile("" ::: "memory"); /* no tail call: one frame per level */
  return p;
}
__attribute__((noinline)) void *from_x(int d) { return rec_alloc(d); }
__attribute__((noinline)) void *from_y(int d) { return rec_alloc(d); }

static int ready[2], never[2];

static void *blocked_thread(void *arg) {
  (void)arg;
  void *volatile mine = thread_kept();
  char c = 1;
  if (write(ready[1], &c, 1) != 1) abort();
  if (read(never[0], &c, 1) < 0) perror("read"); /* never returns: main exits first */
  free(mine);
  return NULL;
}

__attribute__((noinline)) static void run(const char *what, int n) {
  if (!strcmp(what, "list")) {
    make_list(n);
  } else if (!strcmp(what, "global")) {
    g_kept = global_kept();
    g_hidden = (uintptr_t)global_lost() ^ HIDE;
  } else if (!strcmp(what, "interior")) {
    g_interior = (char *)interior_kept() + 24;
  } else if (!strcmp(what, "tls")) {
    tls_slot = tls_kept();
  } else if (!strcmp(what, "thread")) {
    pthread_t t;
    char c;
    if (pipe(ready) || pipe(never) || pthread_create(&t, NULL, blocked_thread, NULL) ||
        read(ready[0], &c, 1) != 1)
      abort();
  } else if (!strcmp(what, "big")) {
    void **lost = big_lost();
    lost[1000] = big_child();
    g_hidden = (uintptr_t)lost ^ HIDE;
    void **kept = big_kept();
    kept[12345] = big_kept_child();
    g_kept = kept;
  } else if (!strcmp(what, "swapped")) {
    char *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED) abort();
    g_anon_page = anon;
    *(void *volatile *)anon = swapped_anon_kept();
    *(void *volatile *)swap_page = swapped_global_kept();
    madvise(anon, 4096, MADV_PAGEOUT);
    madvise(swap_page, 4096, MADV_PAGEOUT);
    fprintf(stderr, "swapped %d\n", swapped(anon) + swapped(swap_page));
  } else if (!strcmp(what, "cycle")) {
    void **a = cycle_node(), **b = cycle_node();
    a[0] = b;
    b[0] = a;
  } else if (!strcmp(what, "repeat")) {
    for (int i = 0; i < n; i++) {
      void *(*volatile fn)(void) = i & 1 ? alt_b : alt_a;
      g_hidden = (uintptr_t)fn() ^ HIDE;
      g_hidden = (uintptr_t)(i & 1 ? from_y : from_x)(i % 7) ^ HIDE;
    }
  } else if (!strcmp(what, "double")) {
    char *p = badfree_block();
    badfree_release(p);
    free(p);
  } else if (!strcmp(what, "middle")) {
    free(badfree_block() + 8);
  } else if (!strcmp(what, "big_middle")) {
    free(big_badfree_block() + 16);
  } else {
    fprintf(stderr, "reach: unknown case %s\n", what);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: reach list N|global|interior|thread|tls|big|cycle|repeat N|double|middle\n");
    return 2;
  }
  run(argv[1], argc > 2 ? atoi(argv[2]) : 10);
  wipe_stack();
  return 0;
}
