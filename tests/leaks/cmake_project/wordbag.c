/* wordbag.c - the library under test: every block it takes, wordbag_free
 * gives back. */
#include "wordbag.h"

#include <stdlib.h>
#include <string.h>

static int push(wordbag *b, const char *w, size_t len) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 4;
    char **nw = realloc(b->words, cap * sizeof *nw);
    if (!nw) return -1;
    b->words = nw;
    b->cap = cap;
  }
  char *s = malloc(len + 1);
  if (!s) return -1;
  memcpy(s, w, len);
  s[len] = 0;
  b->words[b->n++] = s;
  return 0;
}

int wordbag_split(wordbag *b, const char *text) {
  while (*text) {
    size_t skip = strspn(text, " \t\n"), len;
    text += skip;
    len = strcspn(text, " \t\n");
    if (len && push(b, text, len)) return -1;
    text += len;
  }
  return 0;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void wordbag_sort(wordbag *b) { qsort(b->words, b->n, sizeof *b->words, cmp); }

size_t wordbag_distinct(const wordbag *b) {
  size_t d = 0;
  for (size_t i = 0; i < b->n; i++) d += i == 0 || strcmp(b->words[i - 1], b->words[i]);
  return d;
}

void wordbag_free(wordbag *b) {
  for (size_t i = 0; i < b->n; i++) free(b->words[i]);
  free(b->words);
  b->words = NULL;
  b->n = b->cap = 0;
}
