/* options.c - the stats layer's option table, loaded at start (options.h). */
#include "options.h"

#include "common.h"
#include "leak.h"

TP_START_DATA tp_stats_config_t tp_stats_config;

#define TP_OPT_STRUCT tp_stats_config_t
static const tp_option_t stats_opts[] = {TP_STATS_OPTIONS(TP_OPT_ENTRY)};
#undef TP_OPT_STRUCT

tp_option_table_t tp_stats_options = {stats_opts, sizeof stats_opts / sizeof stats_opts[0],
                                      &tp_stats_config, 0};
tp_option_table_t *const tp_all_options[2] = {&tp_engine_options, &tp_stats_options};

/* The choices are written in the enums' order. */
_Static_assert(TP_FORMAT_TEXT == 0 && TP_FORMAT_JSON == 1 && TP_FORMAT_PROMETHEUS == 2,
               "TIERPOOL_FORMAT choices follow enum tp_format");
_Static_assert(TP_LEAKS_OFF == 0 && TP_LEAKS_ALL == 1 && TP_LEAKS_SAMPLE == 2,
               "TIERPOOL_LEAKS choices follow enum tp_leak_mode");

void tp_stats_options_load(void) {
  tp_options_load(&tp_stats_options);
  tp_options_check_environ(tp_all_options, 2);
  if (tp_config.verbose) tp_options_list(tp_all_options, 2);
}
