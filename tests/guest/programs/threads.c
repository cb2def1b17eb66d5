/* Threads, compared with native: create and join, a mutex and a
 * condition variable handing work around, thread-local storage, a
 * thread's own tid, a detached thread, pthread_exit from a thread, and
 * signals aimed at one thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 4
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn, total;
static __thread int mine;
static volatile sig_atomic_t got_usr1_in;

static void* worker(void* arg)
{
    int id = (int)(long)arg;
    mine = id * 100;
    for (int round = 0; round < 50; round++) {
        pthread_mutex_lock(&lock);
        while (turn % N != id)
            pthread_cond_wait(&cond, &lock);
        total += mine + round;
        turn++;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return (void*)(long)(mine + 1);
}

static void* quitter(void* arg)
{
    (void)arg;
    pthread_exit((void*)7L);
}

static void on_usr1(int signo)
{
    (void)signo;
    got_usr1_in = syscall(SYS_gettid) != getpid() ? 2 : 1;
}

static void* waiter(void* arg)
{
    (void)arg;
    while (!got_usr1_in)
        usleep(1000);
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    for (long i = 0; i < N; i++)
        pthread_create(&t[i], NULL, worker, (void*)i);
    long sum = 0;
    for (int i = 0; i < N; i++) {
        void* r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("total=%d turns=%d returns=%ld main_tls=%d\n", total, turn, sum, mine);

    pthread_t q;
    void* r;
    pthread_create(&q, NULL, quitter, NULL);
    pthread_join(q, &r);
    printf("pthread_exit value=%ld\n", (long)r);

    signal(SIGUSR1, on_usr1);
    pthread_t w;
    pthread_create(&w, NULL, waiter, NULL);
    pthread_kill(w, SIGUSR1);
    pthread_join(w, NULL);
    printf("signal to one thread: handled on it=%d\n", got_usr1_in == 2);

    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    printf("detached create=%d\n", pthread_create(&d, &detached, quitter, NULL));
    usleep(20000);
    return 0;
}
