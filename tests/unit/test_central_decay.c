/* Unit tests of the central pools' decay (central.h): free blocks of a
 * tier of 128 KiB or more that no pop reached for a whole period give
 * their pages back; a pool that is drained again and again keeps them. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "central.h"
#include "engine.h"

#include "../lib/tp_test.h"

static void start(void) { tp_init(); }

TestSuite(central_decay, .init = start);

#define IDLE 8
#define SPIN_MS 60 /* several decay periods */

static unsigned tier(void) { return tp_tier_of(256 * KiB); }

/* n fresh blocks of tier t, every page written. */
static void carve_in(unsigned t, void **out, int n) {
  size_t size = tp_tier_size(t);
  for (int have = 0; have < n;) {
    uint32_t got;
    char *b = tp_central_carve(t, (uint32_t)(n - have), &got);
    cr_assert_not_null(b);
    for (uint32_t i = 0; i < got; i++) out[have++] = b + i * size;
  }
  for (int i = 0; i < n; i++) memset(out[i], 0xab, size);
}

static void carve(void **out, int n) { carve_in(tier(), out, n); }

static void push_one(void *b) {
  ((void **)b)[0] = NULL; /* a batch of one block */
  tp_central_push(tier(), b, 1);
}

/* Whether the block's second page (past the links) is in memory. */
static bool resident(void *b) {
  unsigned char v;
  cr_assert_eq(mincore((char *)b + 4096, 4096, &v), 0);
  return v & 1;
}

static uint64_t ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(central_decay, blocks_no_pop_reaches_for_a_period_give_their_pages_back) {
  void *idle[IDLE], *busy;
  carve(idle, IDLE);
  carve(&busy, 1);
  for (int i = 0; i < IDLE; i++) push_one(idle[i]);
  for (int i = 0; i < IDLE; i++) cr_assert(resident(idle[i]));
  /* Another thread's churn at the top of the stack: push, pop. */
  for (uint64_t end = ms() + SPIN_MS; ms() < end;) {
    push_one(busy);
    uint32_t len;
    cr_assert_eq(tp_central_pop(tier(), &len), busy);
  }
  for (int i = 0; i < IDLE; i++) cr_assert_not(resident(idle[i]), "idle block %d", i);
  cr_assert(resident(busy), "the block in use keeps its pages");
  cr_assert_eq(atomic_load(&tp_central[tier()].blocks), IDLE, "the blocks stay in the pool");
}

Test(central_decay, a_pool_drained_again_and_again_keeps_its_pages) {
  void *b[IDLE];
  carve(b, IDLE);
  for (uint64_t end = ms() + SPIN_MS; ms() < end;) {
    for (int i = 0; i < IDLE; i++) push_one(b[i]);
    uint32_t len;
    for (int i = 0; i < IDLE; i++) cr_assert_not_null(tp_central_pop(tier(), &len));
  }
  for (int i = 0; i < IDLE; i++) cr_assert(resident(b[i]), "block %d", i);
}

/* A decayed batch is flagged: malloc_trim's pass gives back only the
 * pages of the others. */
Test(central_decay, trim_skips_what_the_decay_gave_back) {
  void *idle[IDLE], *busy;
  carve(idle, IDLE);
  carve(&busy, 1);
  for (int i = 0; i < IDLE; i++) push_one(idle[i]);
  for (uint64_t end = ms() + SPIN_MS; ms() < end;) {
    push_one(busy);
    uint32_t len;
    cr_assert_eq(tp_central_pop(tier(), &len), busy);
  }
  push_one(busy);
  size_t page_rest = tp_tier_size(tier()) - 4096;
  cr_assert_eq(tp_central_trim(), page_rest, "only the block pushed last");
  cr_assert_not(resident(busy));
}

/* A fresh page faults once. Carving reads the first words of every fresh
 * block (check_fresh); read first, a page was mapped to the zero page and
 * faulted a second time at the refill's write, which in a process with
 * threads on several CPUs flushes every CPU's TLB by interrupt. */
Test(central_decay, fresh_pages_fault_once_each) {
  enum { N = 256 };
  static void *blocks[N];
  struct rusage r0, r1;
  cr_assert_eq(getrusage(RUSAGE_THREAD, &r0), 0);
  carve_in(tp_tier_of(4 * KiB), blocks, N); /* one page a block */
  cr_assert_eq(getrusage(RUSAGE_THREAD, &r1), 0);
  long faults = r1.ru_minflt - r0.ru_minflt;
  /* Under ASan the writes also fault its shadow in: a page of it per 8
   * pages here. Faulted twice, the pages alone would be 2N. */
  cr_assert_leq(faults, N + N / 4, "%ld page faults for %d fresh pages", faults, N);
}
