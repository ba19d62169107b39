/* introspect.c - glibc's introspection calls, so that a program that asks
 * its malloc how it is doing hears from tierpool and not from glibc's
 * empty arena. The answers are in stats/introspect.c. */
#include <limits.h>
#include <malloc.h>

#include "common.h"
#include "introspect.h"

TP_API struct mallinfo2 mallinfo2(void) {
  struct mallinfo2 m;
  tp_mallinfo2(&m);
  return m;
}

/* The old int fields: clamped, where glibc lets them wrap. */
static int clamp(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

TP_API struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo m = {
      clamp(m2.arena), clamp(m2.ordblks), clamp(m2.smblks), clamp(m2.hblks),
      clamp(m2.hblkhd), clamp(m2.usmblks), clamp(m2.fsmblks), clamp(m2.uordblks),
      clamp(m2.fordblks), clamp(m2.keepcost)};
  return m;
}

TP_API void malloc_stats(void) { tp_malloc_stats(); }
TP_API int malloc_info(int options, FILE *fp) { return tp_malloc_info(options, fp); }
TP_API int mallopt(int param, int value) { return tp_mallopt(param, value); }
