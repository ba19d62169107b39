/* introspect.c - what the tiers are doing, through the API: the tiers in
 * use, the recent request lengths, the discarded count (the same numbers
 * the dumps show). */
#include "common.h"
#include "snapshot.h"
#include "tierpool_pools.h"

TP_API size_t tierpool_tiers_in_use(uint64_t *sizes, size_t max) {
  tierpool_stats_t st;
  tierpool_stats(&st);
  size_t n = 0;
  for (uint32_t t = 0; t < st.ntiers && n < max; t++)
    if (st.tiers[t].get) sizes[n++] = st.tiers[t].size;
  return n;
}

TP_API size_t tierpool_recent_lengths(uint64_t *out, size_t max) {
  return out ? tp_recent_lengths(out, max) : 0;
}

TP_API uint64_t tierpool_discarded(void) {
  tierpool_stats_t st;
  tierpool_stats(&st);
  return st.discarded;
}
