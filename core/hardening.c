/* hardening.c - reports of bad frees and fatal errors, without allocating. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "hardening.h"
#include "hooks.h"

void tp_report_bad_free(const char *what, const void *p, size_t tier_size) {
  if (tier_size)
    tp_warn("%s: %p (tier %zu B); aborting. Run the program under valgrind "
            "to see where the block was freed first.", what, p, tier_size);
  else
    tp_warn("%s: %p (not from the pools nor from mimalloc); aborting", what, p);
  tp_hooks_run_bad_free(p); /* with leak tracking: the stack that allocated it */
  abort();
}

void tp_die(const char *file, int line, const char *msg) {
  tp_warn("internal error at %s:%d: %s", file, line, msg);
  abort();
}
