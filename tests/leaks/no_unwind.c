/* no_unwind.c - a preload shim for unwind_load_tests.py: dlopen of any
 * libunwind fails as on a system without it (the loader's own error, for a
 * name that does not exist); every other dlopen is glibc's. Preloaded
 * before libtierpool.so, so its dlopen is the one tierpool calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

__attribute__((visibility("default"))) void *dlopen(const char *name, int flags) {
  static void *(*real)(const char *, int);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "dlopen");
  if (name && strstr(name, "libunwind")) name = "libunwind-absent-for-test.so";
  return real(name, flags);
}
