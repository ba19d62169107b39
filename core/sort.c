/* sort.c - the heap sort of sort.h. */
#include "sort.h"

#include <stdint.h>

static void swap(unsigned char *a, unsigned char *b, size_t size) {
  for (size_t i = 0; i < size; i++) {
    unsigned char t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

/* Moves element i down the heap of the first n elements. */
static void sift(unsigned char *e, size_t i, size_t n, size_t size, tp_less_fn less) {
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && less(e + c * size, e + (c + 1) * size)) c++;
    if (!less(e + i * size, e + c * size)) return;
    swap(e + i * size, e + c * size, size);
    i = c;
  }
}

void tp_sort(void *base, size_t n, size_t size, tp_less_fn less) {
  unsigned char *e = base;
  for (size_t i = n / 2; i-- > 0;) sift(e, i, n, size, less);
  for (size_t end = n; end-- > 1;) {
    swap(e, e + end * size, size);
    sift(e, 0, end, size, less);
  }
}
