/* quiet_thread.c - see quiet_thread.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "quiet_thread.h"

int tp_quiet_thread_start(void *(*fn)(void *)) {
  int saved = errno;
  /* Blocked before the thread is created: it inherits the mask, with no
   * moment between its start and a pthread_sigmask of its own. */
  sigset_t all, prev;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &prev);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  int rc = pthread_create(&t, &attr, fn, NULL);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &prev, NULL);
  errno = saved;
  return rc;
}
