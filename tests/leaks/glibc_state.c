/* glibc_state.c - a program that frees everything it owns but makes glibc
 * keep state until exit: the built-in suppressions of `tierpool check` must
 * take all of it, by glibc's internal function names (glibc jumps from the
 * public ones into them, leaving no frame of the public name).
 *
 *   glibc_state          every item below; must pass the check
 *   glibc_state leak     the same, plus one 77-byte block of its own (must fail)
 *
 * What glibc keeps: environment strings (setenv -> __add_to_environ), time
 * zone data (tzset, localtime_r -> __tz_convert -> tzset_internal ->
 * __tzfile_read, mktime, strftime), locale data (setlocale -> _nl_find_locale),
 * message catalogs (bindtextdomain, dcgettext), the iconv cache (iconv_open ->
 * __gconv_lookup_cache; the handle itself is closed), NSS modules and buffers
 * (getpwuid, getgrgid, gethostbyname), strerror's buffer, stdio buffers, and
 * dlerror's message.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <grp.h>
#include <iconv.h>
#include <libintl.h>
#include <locale.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

/* The program's own leak (mode `leak`), its frame then overwritten so that
 * no stale pointer keeps the block reachable. */
__attribute__((noinline)) static void own_leak(void) {
  char *volatile p = malloc(77);
  p = NULL;
}

__attribute__((noinline)) static void scrub_stack(void) {
  volatile char junk[16384];
  memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv) {
  setenv("TP_GLIBC_STATE", "a value that glibc copies", 1);
  setenv("TZ", "Europe/Paris", 1);
  tzset();
  time_t t = 1700000000;
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[128];
  strftime(buf, sizeof buf, "%c %Z", &tm);
  tm.tm_mday += 40;
  t = mktime(&tm);
  setlocale(LC_ALL, "C.UTF-8");
  bindtextdomain("tp-glibc-state", "/nonexistent");
  sink = dcgettext("tp-glibc-state", "a message", LC_MESSAGES);
  iconv_t cd = iconv_open("ISO-8859-1", "UTF-8");
  if (cd != (iconv_t)-1) iconv_close(cd);
  sink = getpwuid(getuid());
  sink = getgrgid(getgid());
  sink = gethostbyname("localhost");
  sink = strerror(12345);
  if (!dlopen("/nonexistent/libnothing.so", RTLD_NOW)) sink = dlerror();
  printf("%s, %ld, %s\n", buf, (long)t, (char *)sink ? "ok" : "none");
  fprintf(stderr, "glibc_state: done\n");
  if (argc > 1 && !strcmp(argv[1], "leak")) {
    own_leak();
    scrub_stack();
  }
  sink = NULL;
  return 0;
}
