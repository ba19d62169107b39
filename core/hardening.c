/* hardening.c - reports of bad frees, without allocating (log.h writes them). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "hardening.h"

void tp_report_bad_free(const char *what, const void *p, size_t tier_size) {
  if (tier_size)
    tp_warn("%s: %p (tier %zu B); aborting. Run the program under valgrind "
            "to see where the block was freed first.", what, p, tier_size);
  else
    tp_warn("%s: %p (not from the pools nor from mimalloc); aborting", what, p);
  abort();
}
