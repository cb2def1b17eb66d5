/* How a process with threads ends, compared with native by output and
 * exit status: exit(3) while a thread waits on a condition forever; the
 * main thread leaving first with pthread_exit; a thread crashing while
 * another spins. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static void* forever(void* a) { (void)a; pthread_mutex_lock(&m); for (;;) pthread_cond_wait(&c, &m); }
static void* late(void* a) { (void)a; usleep(100000); printf("late thread done\n"); fflush(stdout); return NULL; }
static void* crash(void* a) { (void)a; usleep(10000); *(volatile int*)0 = 1; return NULL; }
static void* spin(void* a) { (void)a; for (;;) {} }
int main(int argc, char** argv) {
    pthread_t t;
    if (argc < 2)
        return 2;
    const char* w = argv[1];
    if (!strcmp(w, "exit-while-blocked")) { pthread_create(&t, 0, forever, 0); usleep(20000); exit(3); }
    if (!strcmp(w, "main-exits-first")) { pthread_create(&t, 0, late, 0); pthread_exit(0); }
    if (!strcmp(w, "thread-crashes")) { pthread_create(&t, 0, spin, 0); pthread_create(&t, 0, crash, 0); pthread_join(t, 0); }
    return 0;
}
