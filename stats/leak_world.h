/* leak_world.h - what the reachability scan needs from the process around
 * it: the other threads stopped, with their stack pointers, registers and
 * thread pointers (leak_world.c), the readable mappings, so that no read
 * of the scan can fault, which pages were ever touched, and which of the
 * program's anonymous memory is a root.
 */
#ifndef TP_STATS_LEAK_WORLD_H
#define TP_STATS_LEAK_WORLD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"

#pragma GCC visibility push(hidden)

#define TP_WORLD_REGS 32

enum tp_thread_state {
  TP_THREAD_ASKED = 0,   /* signalled, not answered (yet) */
  TP_THREAD_STOPPED = 1, /* in the handler, waiting: sp, regs and tp are valid */
  TP_THREAD_LEFT = 2,    /* was stopped, has left the handler */
  TP_THREAD_GONE = 3     /* tgkill failed: it exited */
};

typedef struct tp_world_thread_s {
  long tid;
  _Atomic int state;               /* enum tp_thread_state (written by the handler) */
  uintptr_t sp;                    /* stack pointer; 0 if unknown */
  uintptr_t tp;                    /* thread pointer (TLS); 0 if unknown */
  uintptr_t regs[TP_WORLD_REGS];   /* general registers when it stopped */
} tp_world_thread_t;

typedef struct tp_world_s {
  tp_world_thread_t *threads;      /* the others ([cap], mmap'd once) */
  uint32_t n, cap;
  tp_world_thread_t self;          /* the scanning thread: tid and tp only */
} tp_world_t;

/* Stops every other thread of the process (see leak_world.c); false if the
 * signal handler could not be installed (nothing stopped). Threads that did
 * not answer stay TP_THREAD_ASKED, with the kernel's sp when it has one. */
bool tp_world_stop(tp_world_t *w);
/* Lets them go and puts the signal's previous action back. */
void tp_world_resume(tp_world_t *w);

/* One readable mapping. */
typedef struct tp_vma_s {
  uintptr_t lo, hi;
  bool writable;
  bool anon;        /* private memory of no file: anonymous, [heap] or [anon:name] */
  bool after_guard; /* right above an inaccessible mapping: a thread stack's shape */
} tp_vma_t;

typedef struct tp_maps_s {
  tp_vma_t *v;                     /* sorted by address ([cap], mmap'd once) */
  size_t n, cap;
  uintptr_t none_hi;               /* while loading: the end of the last inaccessible mapping */
} tp_maps_t;

/* Reads /proc/self/maps; false if it cannot. */
bool tp_maps_load(tp_maps_t *m);
/* The readable mapping holding a, or NULL. */
const tp_vma_t *tp_maps_find(const tp_maps_t *m, uintptr_t a);
/* The first readable mapping that ends above a (holding a or after it), or
 * NULL. */
const tp_vma_t *tp_maps_next(const tp_maps_t *m, uintptr_t a);

/* Which pages of a range may hold anything: in memory or swapped out.
 * The others were never touched (zeros), or hold what their file has
 * (initialised data no relocation wrote): reading them would only fault
 * them in. From /proc/self/pagemap between tp_resident_open and
 * tp_resident_close (a scan's), else mincore, which does not see a page
 * swapped out. A cursor over [lo, hi), asked page by page in increasing
 * order. */
#define TP_RESIDENT_CHUNK 256 /* pages per look */

typedef struct tp_resident_s {
  uintptr_t lo, hi, end;        /* the chunk [lo, end) answered; the range's end */
  unsigned char vec[TP_RESIDENT_CHUNK];
} tp_resident_t;

void tp_resident_open(void);
void tp_resident_close(void);
void tp_resident_init(tp_resident_t *r, const void *lo, size_t bytes);
/* Whether page pg (page aligned, in the range) was ever touched. */
bool tp_resident(tp_resident_t *r, uintptr_t pg);

/* Most ranges a caller of tp_anon_roots may leave out. */
#define TP_ANON_SKIP_MAX (16384 + 8)

/* The program's anonymous memory that is a root of the scan (see
 * leak_world.c): calls root for each resident page of it. skip: nskip
 * ranges [skip[2k], skip[2k + 1]) left out besides the engine's own
 * mappings (page aligned; at most TP_ANON_SKIP_MAX); sps: the
 * threads' stack pointers (their stacks are scanned from there, not
 * whole). */
void tp_anon_roots(const tp_maps_t *m, const uintptr_t *skip, size_t nskip,
                   const uintptr_t *sps, size_t nsps, void (*root)(uintptr_t lo, uintptr_t hi));

#pragma GCC visibility pop

#endif
