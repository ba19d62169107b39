/* random.c - seeds from the kernel (see random.h). */
#include <errno.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "random.h"

TP_RESIDENT uint64_t tp_random_seed(void) {
  int saved = errno;
  uint64_t k = 0;
  if (getrandom(&k, sizeof k, GRND_NONBLOCK) != sizeof k) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    k = tp_mix64(((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16));
  }
  errno = saved;
  return k;
}
