/* Thread life at the edges: a new thread whose first call is free,
 * realloc or malloc_usable_size; a TLS destructor that runs after
 * tierpool's and still allocates and frees; 10000 short-lived threads
 * that must not grow the number of thread caches without bound. */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tierpool.h"
#include "tp_test.h"

static int (*stats)(tierpool_stats_t *);
static pthread_key_t late_key;

static void late_destructor(void *p) {
  /* Runs at thread exit, possibly after tierpool flushed this thread. */
  free(p);
  void *q = malloc(200);
  CHECK(q);
  memset(q, 1, 200);
  free(q);
}

static void *first_free(void *arg) { free(arg); return NULL; }
static void *first_realloc(void *arg) { return realloc(arg, 5000); }
static void *first_usable(void *arg) { return (void *)malloc_usable_size(arg); }

static void *with_late_destructor(void *arg) {
  (void)arg;
  pthread_setspecific(late_key, malloc(48));
  void *p = malloc(1000);
  free(p);
  return NULL;
}

static void *short_lived(void *arg) {
  void *p = malloc(64 + (size_t)(uintptr_t)arg % 4000);
  free(p);
  return NULL;
}

int main(void) {
  stats = (int (*)(tierpool_stats_t *))dlsym(RTLD_DEFAULT, "tierpool_stats");
  CHECK(stats);
  pthread_t t;
  void *r;
  pthread_create(&t, NULL, first_free, malloc(100));
  pthread_join(t, NULL);
  char *s = malloc(100);
  strcpy(s, "kept across realloc");
  pthread_create(&t, NULL, first_realloc, s);
  pthread_join(t, &r);
  CHECK(r && strcmp(r, "kept across realloc") == 0);
  pthread_create(&t, NULL, first_usable, r);
  pthread_join(t, (void **)&s);
  CHECK((size_t)s == 8192);
  free(r);

  pthread_key_create(&late_key, late_destructor);
  for (int i = 0; i < 100; i++) {
    pthread_create(&t, NULL, with_late_destructor, NULL);
    pthread_join(t, NULL);
  }

  tierpool_stats_t a, b;
  stats(&a);
  for (uintptr_t i = 0; i < 10000; i++) {
    pthread_create(&t, NULL, short_lived, (void *)i);
    pthread_join(t, NULL);
  }
  stats(&b);
  CHECK(b.threads_started - a.threads_started == 10000);
  CHECK(b.threads_exited - a.threads_exited == 10000);
  /* Caches are recycled: the carved bytes of the 64..4 KiB tiers stay small. */
  uint64_t carved = 0;
  for (unsigned i = 0; i < b.ntiers; i++) carved += b.tiers[i].carved_bytes - a.tiers[i].carved_bytes;
  CHECK(carved < (64u << 20));
  CHECK(b.total_get - a.total_get == b.total_put - a.total_put);
  printf("thread teardown: ok (carved %llu bytes for 10000 threads)\n", (unsigned long long)carved);
  return 0;
}
