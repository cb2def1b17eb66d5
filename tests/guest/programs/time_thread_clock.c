/* Per-thread CPU clocks: a thread that spins and one that sleeps each see
 * their own CPU time (CLOCK_THREAD_CPUTIME_ID, getrusage(RUSAGE_THREAD)),
 * the main thread reads the spinner's through pthread_getcpuclockid, and
 * the process clock covers both. Compared with Linux (as relations). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile int stop;
static volatile double spinner_own; /* set once, when it has spun 0.2 s */
static double sleeper_own, sleeper_rusage;

static void *spinner(void *arg) {
  (void)arg;
  /* Until its own clock says 0.2 s: a clock that did not move would
   * never end (the test's timeout), one that counted others' time would
   * end early and show in the process clock check below. */
  volatile unsigned long x = 0;
  double own;
  while ((own = now(CLOCK_THREAD_CPUTIME_ID)) < 0.2)
    for (int i = 0; i < 100000; i++) x += i;
  spinner_own = own;
  while (!stop) usleep(1000);
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  usleep(300000);
  sleeper_own = now(CLOCK_THREAD_CPUTIME_ID);
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  sleeper_rusage = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, spinner, NULL);
  pthread_create(&b, NULL, sleeper, NULL);
  pthread_join(b, NULL);
  while (spinner_own == 0) usleep(1000);
  clockid_t c;
  pthread_getcpuclockid(a, &c);
  double spinner_seen = now(c);
  stop = 1;
  pthread_join(a, NULL);
  double process = now(CLOCK_PROCESS_CPUTIME_ID);
  double main_own = now(CLOCK_THREAD_CPUTIME_ID);
  printf("spinner's own clock >= 0.2 s: %d\n", spinner_own >= 0.2);
  printf("sleeper's own clock < 0.1 s: %d, its RUSAGE_THREAD < 0.1 s: %d\n", sleeper_own < 0.1, sleeper_rusage < 0.1);
  printf("main reads the spinner's clock >= its own reading: %d\n", spinner_seen >= spinner_own);
  printf("main's own clock < 0.1 s: %d\n", main_own < 0.1);
  printf("process clock >= spinner's + sleeper's: %d\n", process >= spinner_own + sleeper_own);
  return 0;
}
