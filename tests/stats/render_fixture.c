/* render_fixture.c - prints the fixture snapshot in the format named by
 * argv[1] (text, json, prometheus) on stdout, for the Python checks. */
#include <string.h>
#include <unistd.h>

#include "fixture.h"

int main(int argc, char **argv) {
  enum tp_format f = TP_FORMAT_TEXT;
  if (argc > 1 && !strcmp(argv[1], "json")) f = TP_FORMAT_JSON;
  if (argc > 1 && !strcmp(argv[1], "prometheus")) f = TP_FORMAT_PROMETHEUS;
  tierpool_stats_t st;
  tp_dump_meta_t meta;
  fixture_stats(&st);
  fixture_config(f);
  fixture_meta(&meta);
  char buf[256]; /* small on purpose: output spans many flushes */
  tp_out_t out;
  tp_out_init(&out, buf, sizeof buf, STDOUT_FILENO);
  tp_emitter_t e;
  tp_emit_init(&e, f, &out);
  tp_render(&e, &st, fixture_lengths, sizeof fixture_lengths / sizeof fixture_lengths[0], &meta);
  return tp_out_flush(&out) ? 0 : 1;
}
