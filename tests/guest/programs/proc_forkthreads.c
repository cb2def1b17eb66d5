/* fork in a multithreaded process, compared with native: only the calling
 * thread exists in the child (tgkill of the other tids gives ESRCH, a
 * counter the others were spinning on stays frozen), its tid is the
 * child's pid, memory and the calling thread's TLS are copied, a mutex
 * another thread held stays locked in the child, the child can create and
 * join threads of its own and use malloc; fork from a non-main thread (the
 * child's getppid is the process, not the thread); children of one thread
 * are waitable from another (but not with __WNOTHREAD); a child outliving
 * the thread that forked it keeps its parent process (reparented to a
 * surviving thread, so __WNOTHREAD in main then sees it); and four threads
 * forking and waiting concurrently. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

#ifndef __WNOTHREAD
#define __WNOTHREAD 0x20000000
#endif

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: %s\n", "other");
}

enum { NT = 3 };
static pid_t tids[NT];
static volatile int started;
static volatile unsigned long spin_counter;
static volatile int stop_spinning;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static __thread int tls_value = 1;
static int written_by_thread;

static void* spinner(void* a)
{
    int i = (int)(long)a;
    tids[i] = gettid();
    if (i == 0) {
        pthread_mutex_lock(&held); /* held across the fork */
        written_by_thread = 1234;
    }
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (!stop_spinning)
        spin_counter++;
    if (i == 0)
        pthread_mutex_unlock(&held);
    return NULL;
}

static int child_counter;
static void* child_thread(void* a)
{
    __atomic_add_fetch(&child_counter, 1, __ATOMIC_SEQ_CST);
    return (void*)((long)a * 2);
}

/* in a fresh child: start 4 threads, join them; 1 if all went well */
static int child_threads_work(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, child_thread, (void*)(long)i) != 0)
            return 0;
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void* rv;
        pthread_join(t[i], &rv);
        sum += (long)rv;
    }
    return child_counter == 4 && sum == 12;
}

/* --- fork from a non-main thread --- */
static pid_t process_pid, main_tid;
static void* forking_thread(void* a)
{
    (void)a;
    tls_value = 77;
    pid_t mytid = gettid();
    pid_t p = fork();
    if (p == 0) {
        int ok_pid = getpid() == gettid();
        int ok_ppid = getppid() == process_pid;
        int ok_notthread = getpid() != mytid; /* a new pid, not the thread's tid */
        errno = 0;
        int main_gone = tgkill_(getpid(), main_tid, 0) == -1 && errno == ESRCH;
        int tls_ok = tls_value == 77;
        int self_ok = pthread_equal(pthread_self(), pthread_self());
        int threads_ok = child_threads_work();
        printf("thread-fork-child: pid==tid=%d new-pid=%d ppid-is-process=%d main-thread-gone=%d tls-copied=%d "
               "self=%d threads=%d\n",
               ok_pid, ok_notthread, ok_ppid, main_gone, tls_ok, self_ok, threads_ok);
        _exit(0);
    }
    int st;
    pid_t r = waitpid(p, &st, 0);
    show("thread-fork-waited-by-thread", p, r, st);
    return NULL;
}

/* --- a thread forks, main waits --- */
static volatile pid_t forked_pid;
static volatile int child_may_exit;
static void* fork_and_return(void* a)
{
    (void)a;
    pid_t p = fork();
    if (p == 0) {
        sigset_t none;
        sigemptyset(&none);
        while (!child_may_exit) /* SIGUSR1 is blocked outside sigsuspend */
            sigsuspend(&none);
        _exit(getppid() == process_pid ? 0 : 1);
    }
    forked_pid = p;
    return NULL; /* the thread exits while the child lives on */
}
static void on_usr1(int s)
{
    (void)s;
    child_may_exit = 1;
}

static pthread_barrier_t bar;
static void* fork_and_hold(void* a)
{
    (void)a;
    pid_t p = fork();
    if (p == 0)
        _exit(3);
    forked_pid = p;
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar); /* alive until main is done */
    return NULL;
}

/* --- concurrent forks --- */
static int concurrent_ok[4];
static void* fork_many(void* a)
{
    int id = (int)(long)a;
    for (int i = 0; i < 10; i++) {
        pid_t p = fork();
        if (p == 0)
            _exit(id * 10 + i);
        int st;
        if (waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == id * 10 + i)
            concurrent_ok[id]++;
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    process_pid = getpid();
    main_tid = gettid();
    printf("main: pid==tid=%d\n", process_pid == main_tid);

    /* --- three spinning threads, then fork from main --- */
    pthread_t t[NT];
    for (int i = 0; i < NT; i++)
        pthread_create(&t[i], NULL, spinner, (void*)(long)i);
    while (started < NT)
        sched_yield();
    tls_value = 5;
    pid_t p = fork();
    if (p == 0) {
        int gone = 0;
        for (int i = 0; i < NT; i++) {
            errno = 0;
            gone += tgkill_(getpid(), tids[i], 0) == -1 && errno == ESRCH;
        }
        unsigned long c1 = spin_counter;
        for (int i = 0; i < 200; i++)
            sched_yield();
        unsigned long c2 = spin_counter;
        int busy = pthread_mutex_trylock(&held);
        char* m = malloc(1 << 20);
        int malloc_ok = m != NULL;
        if (m)
            memset(m, 1, 1 << 20);
        free(m);
        printf("child: pid==tid=%d other-threads-gone=%d counter-frozen=%d mutex-still-held=%s "
               "thread-write-visible=%d tls=%d malloc=%d\n",
               getpid() == gettid(), gone, c1 == c2, busy == EBUSY ? "EBUSY" : ename(busy),
               written_by_thread == 1234, tls_value, malloc_ok);
        printf("child: own-threads=%d\n", child_threads_work());
        _exit(0);
    }
    /* the parent's threads are unaffected */
    int alive = 0;
    for (int i = 0; i < NT; i++)
        alive += tgkill_(getpid(), tids[i], 0) == 0;
    stop_spinning = 1; /* (the child's copy of this flag stays 0) */
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    int st;
    pid_t r = waitpid(p, &st, 0);
    show("child-of-main", p, r, st);
    printf("parent-threads-were-alive: %d\n", alive);

    /* --- fork from a non-main thread --- */
    pthread_t ft, ct;
    pthread_create(&ft, NULL, forking_thread, NULL);
    pthread_join(ft, NULL);
    printf("main-tls-unchanged: %d\n", tls_value);

    /* --- a live thread's child: waitable by main, but not with __WNOTHREAD --- */
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&ct, NULL, fork_and_hold, NULL);
    pthread_barrier_wait(&bar); /* the child exists, the thread is alive */
    p = forked_pid;
    siginfo_t si;
    waitid(P_PID, p, &si, WEXITED | WNOWAIT); /* it is a zombie now */
    errno = 0;
    r = waitpid(p, &st, __WNOTHREAD);
    printf("wnothread-live-threads-child: %s %s\n", rv(r), ename(errno));
    r = waitpid(p, &st, 0);
    show("main-waits-live-threads-child", p, r, st);
    pthread_barrier_wait(&bar);
    pthread_join(ct, NULL);

    /* --- a thread's child outlives the thread: it is reparented to another
     * thread of the process (here main), so even __WNOTHREAD sees it --- */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, oldmask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &oldmask); /* inherited by the thread and its child */
    pthread_create(&ct, NULL, fork_and_return, NULL);
    pthread_join(ct, NULL); /* the forking thread is gone now */
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    p = forked_pid;
    errno = 0;
    r = waitpid(p, &st, __WNOTHREAD | WNOHANG);
    printf("wnothread-reparented-to-main: %s %s\n", rv(r), ename(errno));
    r = waitpid(p, &st, WNOHANG);
    printf("main-sees-running-child: %s\n", rv(r));
    kill(p, SIGUSR1);
    r = waitpid(p, &st, 0);
    show("child-of-exited-thread (0 = getppid still the process)", p, r, st);

    /* --- concurrent fork/wait from four threads --- */
    pthread_t ct4[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&ct4[i], NULL, fork_many, (void*)(long)i);
    for (int i = 0; i < 4; i++)
        pthread_join(ct4[i], NULL);
    printf("concurrent-forks: %d %d %d %d\n", concurrent_ok[0], concurrent_ok[1], concurrent_ok[2],
           concurrent_ok[3]);

    errno = 0;
    r = wait(&st);
    printf("end: %s %s\n", rv(r), ename(errno));
    return 0;
}
