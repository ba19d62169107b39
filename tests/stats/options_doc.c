/* options_doc.c - prints the README's options table from the option tables
 * (core/config.h, stats/options.h): tests/check_options_doc.sh compares it
 * with the README, and `--write` there puts it in. */
#include <stdio.h>

#include "options.h"

int main(void) {
  printf("| Variable | Default | Meaning |\n| --- | --- | --- |\n");
  for (size_t k = 0; k < 2; k++) {
    tp_option_table_t t = *tp_all_options[k];
    char cfg[sizeof(tp_stats_config_t) > sizeof(tp_config_t) ? sizeof(tp_stats_config_t)
                                                               : sizeof(tp_config_t)];
    t.cfg = cfg;
    tp_options_defaults(&t);
    for (size_t i = 0; i < t.n; i++) {
      char value[64];
      tp_option_value(&t.opts[i], cfg, value, sizeof value);
      if (value[0]) printf("| `%s` | `%s` | %s |\n", t.opts[i].name, value, t.opts[i].doc);
      else printf("| `%s` | unset | %s |\n", t.opts[i].name, t.opts[i].doc);
    }
  }
  return 0;
}
