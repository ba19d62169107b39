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

/* 64 random bits from getrandom(2), or from the clock and pid when the
 * kernel's pool is not ready yet (early boot, old seccomp filters). Never
 * allocates; errno is left alone. */
uint64_t tp_random_seed(void);

#pragma GCC visibility pop

#endif
