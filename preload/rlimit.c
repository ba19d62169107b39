/* rlimit.c - setrlimit and prlimit, which load mimalloc before a program
 * lowers its own RLIMIT_AS or RLIMIT_DATA.
 *
 * mimalloc is loaded on the first request that needs it (core/fallback.c).
 * Under a limit a program set itself (glibc's tst-malloc-thread-fail sets
 * 200 MiB while it runs) that load could be refused, and every request
 * the pools do not serve would then be mapped one by one. So a call that
 * lowers either limit of this process loads it first; the limit then
 * applies as it would without tierpool (both calls are the kernel's
 * prlimit64, as in glibc). A limit set before the process started is seen
 * at start (tp_fwd_start).
 */
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

/* Both calls pass the caller's structure to the kernel's prlimit64, whose
 * fields are 64 bits: true of struct rlimit where rlim_t is 64 bits. */
_Static_assert(sizeof(struct rlimit) == sizeof(struct rlimit64) &&
                   sizeof(rlim_t) == sizeof(uint64_t),
               "struct rlimit is the kernel's 64-bit one");

static void before(pid_t pid, int resource, const struct rlimit *limit) {
  if (limit && limit->rlim_cur != RLIM_INFINITY &&
      (resource == RLIMIT_AS || resource == RLIMIT_DATA) && (pid == 0 || pid == getpid()))
    tp_fwd_load();
}

static int set(pid_t pid, int resource, const struct rlimit *limit, struct rlimit *old) {
  /* <sys/resource.h> declares setrlimit's limit nonnull, and the compiler
   * would drop the test for NULL below; the kernel takes NULL (glibc then
   * returns 0), so a program that passes it must not crash here. */
  __asm__("" : "+r"(limit));
  before(pid, resource, limit);
  return (int)syscall(SYS_prlimit64, pid, resource, limit, old);
}

TP_API int setrlimit(__rlimit_resource_t resource, const struct rlimit *limit) {
  return set(0, resource, limit, NULL);
}

TP_API int setrlimit64(__rlimit_resource_t resource, const struct rlimit64 *limit) {
  return set(0, resource, (const struct rlimit *)limit, NULL);
}

TP_API int prlimit(pid_t pid, __rlimit_resource_t resource, const struct rlimit *limit,
                   struct rlimit *old) {
  return set(pid, resource, limit, old);
}

TP_API int prlimit64(pid_t pid, __rlimit_resource_t resource, const struct rlimit64 *limit,
                     struct rlimit64 *old) {
  return set(pid, resource, (const struct rlimit *)limit, (struct rlimit *)old);
}
