/* probe.h - what the security probes share (scripts/bench-security runs them).
 *
 * A probe does one thing a buggy or hostile program might do to the heap,
 * or checks one property of what malloc hands out, on blocks of PROBE_SIZE
 * bytes (the runner builds each C probe at 8 B, 4 KiB and 256 KiB). If the
 * allocator lets the operation through, or the property does not hold, the
 * probe prints the UNCAUGHT line and exits 0. Killed by a signal, aborted
 * with a message, or exiting non-zero before that line: caught.
 *
 * The allocator and the string functions are called through volatile
 * pointers: the compiler cannot fold, inline or drop a call it cannot see,
 * at any optimisation level, nor warn about the bad pointers on purpose.
 * Nothing is printed before the bad operation: stdout's buffer is allocated
 * on the first print, after it, as in a program that carries on.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PROBE_SIZE
#error "build with -DPROBE_SIZE=<bytes> (scripts/bench-security does)"
#endif

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

#define PROBE_UNUSED __attribute__((unused))

PROBE_UNUSED static void *(*volatile heap_get)(size_t) = malloc;
PROBE_UNUSED static void (*volatile heap_put)(void *) = free;
PROBE_UNUSED static void *(*volatile heap_resize)(void *, size_t) = realloc;
PROBE_UNUSED static void *(*volatile copy_bytes)(void *, const void *, size_t) = memcpy;
PROBE_UNUSED static void *(*volatile fill_bytes)(void *, int, size_t) = memset;

/* The verdict "let through": the one line the runner looks for. */
PROBE_UNUSED static void uncaught(const char *what) {
  printf("UNCAUGHT: %s\n", what);
  fflush(stdout);
}

/* A malloc(0) block. NULL leaves nothing to read or write: the probe says
 * so and exits 1, which the set's runner scores as caught. */
PROBE_UNUSED static volatile char *zero_size_block(void) {
  volatile char *p = heap_get(0);
  if (!p) {
    puts("malloc(0) returned NULL");
    exit(1);
  }
  return p;
}

/* Flips the bits of one byte (a plain store would leave the byte as it was
 * once in 256 runs). */
PROBE_UNUSED static void flip(char *at) {
  *(volatile char *)at ^= 0x5a;
}

#endif
