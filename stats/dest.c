/* dest.c - dump destinations and the dumping process's identity (dest.h). */
#include "dest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "options.h"

static struct {
  char tmpl[2 * TP_PATH_MAX];       /* TIERPOOL_STATS, absolute */
  char path[2 * TP_PATH_MAX + 32];  /* the file this process writes, once chosen */
  char tmp[2 * TP_PATH_MAX + 64];   /* Prometheus: the temporary beside it */
  bool chosen;                      /* path holds this process's name */
  bool has_pid;                     /* the template holds %p */
  _Atomic bool warned;              /* the destination's one warning is out */
  char exe[TP_PATH_MAX], cmdline[TP_CMDLINE_MAX + 4], cwd[TP_PATH_MAX];
} tp_dest;

bool tp_dest_is_file(void) {
  const char *s = tp_stats_config.stats;
  return s[0] != '\0' && strcmp(s, "stderr") != 0;
}

/* One warning about the destination, ever: at start or at the first dump
 * that fails, with the reason. */
static void warn_dest(int err, const char *path) {
  if (atomic_exchange(&tp_dest.warned, true)) return;
  if (err == ELOOP)
    tp_warn("TIERPOOL_STATS: %s is a symbolic link; refusing to follow it, no dump written",
            path);
  else
    tp_warn_errno(err, "TIERPOOL_STATS: no dump written: cannot write %s", path);
}

/* Expands %p (the pid, then "-N" when suffix > 0) and %% into out[cap]. */
static bool expand(char *out, size_t cap, unsigned suffix) {
  size_t n = 0;
  char pid[48];
  size_t np = tp_fmt_u64(pid, (uint64_t)getpid());
  if (suffix) {
    pid[np++] = '-';
    np += tp_fmt_u64(pid + np, suffix);
  }
  for (const char *s = tp_dest.tmpl; *s; s++) {
    const char *piece = s;
    size_t k = 1;
    if (s[0] == '%' && s[1] == 'p') { piece = pid; k = np; s++; }
    else if (s[0] == '%' && s[1] == '%') s++;
    if (n + k >= cap) return false;
    memcpy(out + n, piece, k);
    n += k;
  }
  out[n] = '\0';
  return true;
}

static int open_file(const char *path, int flags) {
  int fd;
  do {
    fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, 0600);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

/* Chooses this process's file. With %p: created exclusively under the
 * first free name (the file is then left open in *fd, empty). */
static bool choose(int *fd) {
  *fd = -1;
  for (unsigned k = 0; k < 1000; k++) {
    if (!expand(tp_dest.path, sizeof tp_dest.path, k)) {
      TP_WARN_ONCE("TIERPOOL_STATS: path too long once %%p is expanded; no dump written");
      return false;
    }
    if (!tp_dest.has_pid) break;
    *fd = open_file(tp_dest.path, O_EXCL);
    if (*fd >= 0) break;
    if (errno != EEXIST) {
      warn_dest(errno, tp_dest.path);
      return false;
    }
  }
  tp_dest.chosen = true;
  return true;
}

int tp_dest_open(bool append, bool replace, const char **final, const char **tmp) {
  *final = *tmp = NULL;
  if (!tp_dest_is_file()) return STDERR_FILENO;
  int fd = -1;
  if (!tp_dest.chosen && !choose(&fd)) return -1;
  *final = tp_dest.path;
  if (fd >= 0 && !replace) return fd; /* new and empty */
  if (fd >= 0) close(fd);
  const char *target = tp_dest.path;
  if (replace) {
    /* Prometheus: a whole exposition replaced atomically (write a
     * temporary, rename it over), as node_exporter's textfile collector
     * expects; never appended. */
    size_t n = strlen(tp_dest.path);
    memcpy(tp_dest.tmp, tp_dest.path, n);
    tp_dest.tmp[n++] = '.';
    n += tp_fmt_u64(tp_dest.tmp + n, (uint64_t)getpid());
    memcpy(tp_dest.tmp + n, ".tmp", 5);
    target = *tmp = tp_dest.tmp;
  }
  fd = open_file(target, replace || !append ? O_TRUNC : O_APPEND);
  if (fd < 0) warn_dest(errno, target);
  return fd;
}

/* Can the file be made? The directory must take new files, and an existing
 * file must be writable and not a symbolic link. */
static void check(void) {
  char path[sizeof tp_dest.path];
  if (!expand(path, sizeof path, 0)) return; /* reported at the first dump */
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (S_ISLNK(st.st_mode)) warn_dest(ELOOP, path);
    else if (!tp_dest.has_pid && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0)
      warn_dest(errno, path);
    return;
  }
  char dir[sizeof path];
  char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  memcpy(dir, path, n);
  dir[n] = '\0';
  if (faccessat(AT_FDCWD, n ? dir : "/", W_OK | X_OK, AT_EACCESS) != 0) warn_dest(errno, path);
}

void tp_dest_start(void) {
  const char *s = tp_stats_config.stats;
  /* Nothing reads the template or the choice without a file; a process
   * without one leaves their pages untouched. */
  if (!tp_dest_is_file()) return;
  tp_dest.tmpl[0] = '\0';
  tp_dest.chosen = false;
  size_t n = 0, k = strlen(s);
  if (s[0] != '/' && getcwd(tp_dest.tmpl, sizeof tp_dest.tmpl - 1)) {
    n = strlen(tp_dest.tmpl);
    if (n + 1 + k >= sizeof tp_dest.tmpl) n = 0; /* too long: keep it relative */
    else tp_dest.tmpl[n++] = '/';
  }
  memcpy(tp_dest.tmpl + n, s, k + 1);
  tp_dest.has_pid = false;
  for (const char *p = tp_dest.tmpl; *p; p++) {
    if (p[0] == '%' && p[1] == 'p') tp_dest.has_pid = true;
    if (p[0] == '%' && p[1]) p++;
  }
  check();
}

void tp_dest_fork_child(void) { tp_dest.chosen = false; }

void tp_read_cmdline(char *out, bool *cut) {
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  size_t n = 0;
  *cut = false;
  if (fd >= 0) {
    ssize_t k;
    while (n < TP_CMDLINE_MAX &&
           ((k = read(fd, out + n, TP_CMDLINE_MAX - n)) > 0 || (k < 0 && errno == EINTR)))
      n += k > 0 ? (size_t)k : 0;
    char more;
    *cut = n == TP_CMDLINE_MAX && read(fd, &more, 1) == 1;
    close(fd);
    while (n > 0 && out[n - 1] == '\0') n--;
    for (size_t i = 0; i < n; i++) /* NULs between the arguments, and control bytes */
      if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) out[i] = ' ';
  }
  out[n] = '\0';
}

void tp_read_cwd(char *out, size_t cap) {
  if (syscall(SYS_getcwd, out, cap) <= 0) out[0] = '\0';
}

void tp_dest_identity(tp_dump_meta_t *meta) {
  ssize_t k = readlink("/proc/self/exe", tp_dest.exe, sizeof tp_dest.exe - 1);
  tp_dest.exe[k > 0 ? k : 0] = '\0';
  bool cut;
  tp_read_cmdline(tp_dest.cmdline, &cut);
  if (cut) strcat(tp_dest.cmdline, "...");
  tp_read_cwd(tp_dest.cwd, sizeof tp_dest.cwd);
  meta->exe = tp_dest.exe;
  meta->cmdline = tp_dest.cmdline;
  meta->cwd = tp_dest.cwd;
}
