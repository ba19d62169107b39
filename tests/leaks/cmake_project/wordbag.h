/* wordbag.h - a bag of words: split a text, sort, count the distinct ones. */
#ifndef WORDBAG_H
#define WORDBAG_H
#include <stddef.h>

typedef struct wordbag {
  char **words; /* each malloc'd */
  size_t n, cap;
} wordbag;

int wordbag_split(wordbag *b, const char *text); /* 0, or -1 out of memory */
void wordbag_sort(wordbag *b);
size_t wordbag_distinct(const wordbag *b); /* after wordbag_sort */
void wordbag_free(wordbag *b);
#endif
