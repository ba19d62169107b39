/* The code every process runs (start, malloc, free, their first refills)
 * lies together at the start of libtierpool's code (TP_RESIDENT, core/
 * common.h): after a small program's mallocs and frees, the library's
 * code mapping must not be resident whole. The kernel maps a file's pages
 * 64 KiB around each one touched, so the start, the malloc and free paths
 * and the fork hook spread over the library made all of it resident; kept
 * together they fit in two such windows at most.
 *
 * And with no TIERPOOL_ variable set, the library's read-only data (the
 * mapping after its code: option names, tables, messages) is not read at
 * all, so none of it is resident (one read maps 32 KiB of it); and the
 * globals such a process touches lie together (TP_START_DATA, core/
 * common.h): the library's writable pages, its data and the zeroed data
 * after it, are at most 24 KiB resident (36 before they were grouped).
 * The test runs itself again without any TIERPOOL_ variable it finds. Run
 * preloaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
  (void)argc;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "TIERPOOL_", 9)) continue;
    char name[256];
    size_t len = strcspn(*e, "=");
    snprintf(name, sizeof name, "%.*s", (int)len, *e);
    unsetenv(name);
    execv("/proc/self/exe", argv);
    perror("resident_code: execv");
    return 1;
  }
  for (int i = 0; i < 64; i++) {
    size_t n = (size_t)16 << (i % 8); /* 16 B .. 2 KiB, as bench/tiny */
    char *p = malloc(n);
    if (!p) return 1;
    memset(p, i, n);
    free(p);
  }
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return 1;
  char line[4096];
  int in_code = 0, in_ro = 0, in_rw = 0, seen_code = 0;
  long size = -1, rss = -1, ro_size = -1, ro_rss = -1, rw_rss = 0, one;
  unsigned long lo, hi, rw_end = 0;
  while (fgets(line, sizeof line, f)) {
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && strlen(perms) == 4) {
      int lib = strstr(line, "libtierpool") != NULL;
      in_code = lib && perms[2] == 'x';
      in_ro = lib && seen_code && ro_size < 0 && !strcmp(perms, "r--p");
      /* The data mapping, then the zeroed data the loader maps right after it. */
      in_rw = !strcmp(perms, "rw-p") && (lib || (rw_end && lo == rw_end && !strchr(line, '/')));
      rw_end = in_rw && lib ? hi : in_rw ? 0 : rw_end;
      seen_code |= in_code;
      continue;
    }
    if (in_code && sscanf(line, "Size: %ld kB", &size) == 1) continue;
    if (in_code && sscanf(line, "Rss: %ld kB", &rss) == 1) in_code = 0;
    if (in_ro && sscanf(line, "Size: %ld kB", &ro_size) == 1) continue;
    if (in_ro && sscanf(line, "Rss: %ld kB", &ro_rss) == 1) in_ro = 0;
    if (in_rw && sscanf(line, "Rss: %ld kB", &one) == 1) rw_rss += one, in_rw = 0;
  }
  fclose(f);
  if (size < 0 || rss < 0) {
    fprintf(stderr, "resident_code: no libtierpool code in /proc/self/smaps (run it preloaded)\n");
    return 1;
  }
  printf("resident_code: libtierpool code %ld KiB resident of %ld KiB\n", rss, size);
  /* Two 64 KiB windows and the part of a third the mapping may start in. */
  if (rss >= size || rss > 132) {
    fprintf(stderr, "resident_code: %ld of %ld KiB of libtierpool's code resident after a tiny "
                    "program: code it runs is spread over the library (mark it TP_RESIDENT)\n",
            rss, size);
    return 1;
  }
  if (ro_size < 0 || ro_rss < 0) {
    fprintf(stderr, "resident_code: no read-only data mapping after libtierpool's code\n");
    return 1;
  }
  printf("resident_code: libtierpool read-only data %ld KiB resident of %ld KiB\n", ro_rss,
         ro_size);
  if (ro_rss != 0) {
    fprintf(stderr, "resident_code: %ld KiB of libtierpool's read-only data resident with no "
                    "TIERPOOL_ variable set: something every process runs reads it (a string, "
                    "a table, a jump table, a constant); see tp_environ_names_us\n", ro_rss);
    return 1;
  }
  printf("resident_code: libtierpool writable data %ld KiB resident\n", rw_rss);
  if (rw_rss > 24) {
    fprintf(stderr, "resident_code: %ld KiB of libtierpool's writable data resident after a tiny "
                    "program: a global every process touches lies apart (mark it "
                    "TP_START_DATA)\n", rw_rss);
    return 1;
  }
  return 0;
}
