/* Unit tests of the option parser. */
#include <criterion/criterion.h>
#include <signal.h>

#include "config.h"

Test(config, sizes_with_suffixes) {
  tp_config_t c = {0};
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_MAX_TIER", "64K"));
  cr_assert_eq(c.max_tier, 65536);
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_MAX_TIER", "2MiB"));
  cr_assert_eq(c.max_tier, 2 << 20);
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_CACHE_SIZE", "0x10000"));
  cr_assert_eq(c.cache_size, 65536);
}

Test(config, bad_values_are_rejected_and_keep_the_old_value) {
  tp_config_t c = {.max_tier = 1 << 20, .ring = 256};
  const char *bad[] = {"", "abc", "-1", "1000", "3M", "64Q", "99999999999999999999G", "1 M", "2G"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_not(tp_config_set_for_test(&c, "TIERPOOL_MAX_TIER", bad[i]), "%s", bad[i]);
    cr_assert_eq(c.max_tier, 1 << 20);
  }
  cr_assert_not(tp_config_set_for_test(&c, "TIERPOOL_RING", "100"));
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_RING", "0"));
  cr_assert_eq(c.ring, 0);
}

Test(config, formats_booleans_and_signals) {
  tp_config_t c = {0};
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_FORMAT", "JSON"));
  cr_assert_eq(c.format, TP_FORMAT_JSON);
  cr_assert_not(tp_config_set_for_test(&c, "TIERPOOL_FORMAT", "xml"));
  cr_assert_eq(c.format, TP_FORMAT_JSON);
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_LIVE", "yes"));
  cr_assert(c.live);
  cr_assert_not(tp_config_set_for_test(&c, "TIERPOOL_LIVE", "maybe"));
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_SIGNAL", "SIGUSR2"));
  cr_assert_eq(c.signal, SIGUSR2);
  cr_assert(tp_config_set_for_test(&c, "TIERPOOL_SIGNAL", "usr1"));
  cr_assert_eq(c.signal, SIGUSR1);
  cr_assert_not(tp_config_set_for_test(&c, "TIERPOOL_SIGNAL", "9"));
  cr_assert_not(tp_config_set_for_test(&c, "TIERPOOL_SIGNAL", "NOPE"));
}
