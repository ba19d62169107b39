/* sampler.c - the draws of the byte countdown (sampler.h). */
#include <stdint.h>

#include "random.h"
#include "sampler.h"

bool tp_sampling;
bool tp_fwd_hooked;
static double tp_sample_mean;
static uint64_t tp_sample_seed;

#define TP_SAMPLE_MAX ((int64_t)1 << 62) /* the longest interval drawn */

void tp_sampler_start(double mean) {
  tp_sample_mean = mean > 1 ? mean : 1;
  tp_sample_seed = tp_random_seed();
  tp_sampling = true;
}

/* ln x for x > 0, to about seven digits: the library links no libm. */
static double ln(double x) {
  union { double d; uint64_t u; } v = {x};
  int e = (int)((v.u >> 52) & 0x7ff) - 1023;
  v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* mantissa in [1, 2) */
  double z = (v.d - 1) / (v.d + 1), z2 = z * z; /* ln m = 2 atanh z, z < 1/3 */
  double s = z * (2 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11))))));
  return e * 0.69314718055994530942 + s;
}

int64_t tp_sampler_interval(tp_cache_t *c) {
  if (!tp_sampling) return INT64_MAX;
  if (!c->sample_rng) c->sample_rng = tp_sample_seed ^ (uintptr_t)c;
  double u = (double)((tp_rand_next(&c->sample_rng) >> 11) + 1) * 0x1p-53; /* (0, 1] */
  double v = -ln(u) * tp_sample_mean;
  return v < 1 ? 1 : v > 0x1p62 ? TP_SAMPLE_MAX : (int64_t)v;
}

bool tp_sampler_due(tp_cache_t *c, size_t n) {
  if (!tp_sampling) return true;
  if (c->kind != TP_CACHE_LIVE) return false;
  /* A cache set up before the sampler started counts from INT64_MAX: its
   * first slow-path get draws a real count (tp_sampler_start cannot reach
   * other threads' caches, nor its own without a call back into cache.c). */
  if (c->sample_left > TP_SAMPLE_MAX) c->sample_left = tp_sampler_interval(c);
  if ((c->sample_left -= (int64_t)n) >= 0) return false;
  c->sample_left = tp_sampler_interval(c);
  return true;
}
