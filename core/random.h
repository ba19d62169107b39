/* random.h - the engine's one source of randomness: a seed from the kernel
 * and splitmix64 (Steele, Lea, Flood 2014) to stretch it. Not for secrets
 * beyond the free key, which only needs to be unguessable by accident. */
#ifndef TP_RANDOM_H
#define TP_RANDOM_H

#include "common.h"

#pragma GCC visibility push(hidden)

#define TP_GOLDEN_GAMMA 0x9E3779B97F4A7C15ull /* splitmix64's increment */

/* splitmix64's output function: a bijective mix of one 64-bit word. */
TP_HOT uint64_t tp_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Next value of the generator whose state is *s (the owner's own word). */
TP_HOT uint64_t tp_rand_next(uint64_t *s) { return tp_mix64(*s += TP_GOLDEN_GAMMA); }

/* The home slot of address p in an address-keyed hash table of 2^bits
 * slots: a random base per 16 KiB of address space, plus p's 16-byte
 * granule within it. Blocks that lie close together (a mimalloc page's
 * sampled blocks, a run of forwarded ones) land in neighbouring slots, so
 * a table that holds a few hundred of them touches a few of its pages, not
 * one page each: each fresh page is a fault, and in a short program those
 * faults were most of what sample mode cost. Distant blocks still land
 * apart, and one 16 KiB stretch can fill at most 1024 slots in a row. */
TP_HOT size_t tp_addr_home(uintptr_t p, unsigned bits) {
  return (size_t)(((p >> 14) * TP_GOLDEN_GAMMA >> 32) + ((p >> 4) & 1023)) &
         (((size_t)1 << bits) - 1);
}

/* 64 random bits from getrandom(2), or from the clock and pid when the
 * kernel's pool is not ready yet (early boot, old seccomp filters). Never
 * allocates; errno is left alone. */
uint64_t tp_random_seed(void);

#pragma GCC visibility pop

#endif
