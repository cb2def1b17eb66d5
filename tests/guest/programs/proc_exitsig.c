/* How a child's death is reported, compared with native: a clone child with
 * a non-SIGCHLD exit signal (the parent gets that signal with CLD_EXITED
 * siginfo; only __WCLONE/__WALL waits see it), exit signal 0, such a child
 * not auto-reaped when SIGCHLD is ignored; PR_SET_PDEATHSIG (read back, not
 * inherited by fork, kept across execve, delivered with the dying parent
 * as si_pid after the orphan already sees its new parent, and also fired
 * by the exit of the *thread* that forked); and the exit status of a
 * multithreaded child: exit() from a side thread, pthread_exit from main
 * then exit from another thread, all threads pthread_exit'ing, a fatal
 * signal sent to the process, a fault in a side thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

#ifndef __WALL
#define __WALL 0x40000000
#endif
#ifndef __WCLONE
#define __WCLONE 0x80000000
#endif

static const char* signame(int s)
{
    const char* n = s > 0 ? sigabbrev_np(s) : NULL;
    return n ? n : "none";
}

static const char* code_name(int code)
{
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case SI_USER: return "SI_USER";
    case SI_KERNEL: return "SI_KERNEL";
    default: return "other";
    }
}

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: %s\n", r == 0 ? "nothing (0)" : "other pid");
}

static void waitshow(const char* label, pid_t p, int opts)
{
    int st = 0;
    errno = 0;
    pid_t r = waitpid(p, &st, opts);
    show(label, p, r, st);
}

/* a fork-like clone with the given exit signal: the child exits with code */
static pid_t clone_exit(int exit_signal, int code)
{
    long r = syscall(SYS_clone, (long)exit_signal, 0L, 0L, 0L, 0L);
    if (r == 0)
        syscall(SYS_exit_group, code); /* raw: glibc's thread state is not set up in this child */
    return (pid_t)r;
}

static volatile sig_atomic_t got, g_signo, g_code, g_status, g_pid_ok, g_ppid_ok;
static volatile pid_t expect_pid, expect_ppid;
static void on_sig(int s, siginfo_t* si, void* uc)
{
    (void)uc;
    got++;
    g_signo = s;
    g_code = si->si_code;
    g_status = si->si_status;
    g_pid_ok = si->si_pid == expect_pid;
}

static void on_pdeath(int s, siginfo_t* si, void* uc)
{
    (void)s;
    (void)uc;
    int pid_ok = si->si_pid == expect_pid;
    int ppid_ok = getppid() == expect_ppid;
    int code_usr = si->si_code == SI_USER;
    _exit(40 + pid_ok + 2 * ppid_ok + 4 * code_usr); /* 47: all three */
}

struct shared {
    volatile int ready;
    volatile pid_t pid;
};
static struct shared* sh;

/* --- threads in a child --- */
static void* block_forever(void* a)
{
    (void)a;
    for (;;)
        pause();
    return NULL;
}
static void* exit_from_thread(void* a)
{
    exit((int)(long)a);
}
static void* pthread_exit_quietly(void* a)
{
    pthread_exit(a);
}
static void* fault_in_thread(void* a)
{
    (void)a;
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    volatile int* np = NULL;
    *np = 1;
    return NULL;
}
static pthread_barrier_t bar;
static void* wait_then_exit(void* a)
{
    pthread_barrier_wait(&bar);
    exit((int)(long)a);
}

/* a thread that forks a child with a pdeath signal, then exits */
static void* fork_pdeath_then_exit(void* a)
{
    (void)a;
    pid_t k = fork();
    if (k == 0) {
        prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
        sh->ready = 1;
        for (;;)
            pause();
    }
    sh->pid = k;
    while (!sh->ready)
        sched_yield();
    return NULL; /* this thread exits; the process lives on */
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "get-pdeathsig") == 0) {
        int v = -1;
        prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
        printf("after-exec: pdeathsig=%s\n", signame(v));
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    const char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t me = getpid();
    sigset_t empty, usr, old;
    sigemptyset(&empty);
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigaddset(&usr, SIGCHLD);

    /* --- exit signal SIGUSR1 --- */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigprocmask(SIG_BLOCK, &usr, &old);
    pid_t p = clone_exit(SIGUSR1, 7);
    expect_pid = p;
    while (!got)
        sigsuspend(&old);
    printf("exit-signal-usr1: n=%d signo=SIG%s code=%s status=%d pid-match=%d\n", (int)got, sigabbrev_np(g_signo),
           code_name(g_code), (int)g_status, (int)g_pid_ok);
    waitshow("plain-waitpid", p, 0);
    {
        errno = 0;
        int st2;
        pid_t r2 = waitpid(-1, &st2, WNOHANG);
        printf("plain-waitpid-any: %s %s\n", rv(r2), ename(errno));
    }
    siginfo_t si;
    errno = 0;
    int r = waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    printf("plain-waitid: %d %s\n", r, ename(errno));
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, p, &si, WEXITED | WNOWAIT | __WALL);
    printf("waitid-wall: %d code=%s status=%d\n", r, code_name(si.si_code), si.si_status);
    waitshow("waitpid-wclone", p, __WCLONE);

    /* a normal child is not seen by __WCLONE, but is by __WALL */
    got = 0;
    pid_t n = fork();
    if (n == 0)
        _exit(8);
    expect_pid = n;
    while (!got)
        sigsuspend(&old);
    printf("normal-child-signal: signo=SIG%s\n", sigabbrev_np(g_signo));
    waitshow("normal-child-wclone", n, __WCLONE | WNOHANG);
    waitshow("normal-child-wall", n, __WALL);

    /* --- exit signal 0: no signal at all --- */
    got = 0;
    p = clone_exit(0, 9);
    siginfo_t wsi;
    waitid(P_PID, p, &wsi, WEXITED | WNOWAIT | __WALL); /* zombie now */
    sigset_t pend;
    sigpending(&pend);
    printf("exit-signal-0: handler-runs=%d usr1-pending=%d chld-pending=%d\n", (int)got, sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGCHLD));
    waitshow("exit-signal-0-wall", p, __WALL);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* --- SIGCHLD ignored: a SIGUSR1-exit-signal child is still a zombie --- */
    signal(SIGCHLD, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    p = clone_exit(SIGUSR1, 10);
    waitshow("chld-ignored-clone-child", p, __WCLONE);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);

    /* --- exit statuses of multithreaded children --- */
    p = fork();
    if (p == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, block_forever, NULL);
        pthread_create(&b, NULL, exit_from_thread, (void*)5L);
        for (;;)
            pause();
    }
    waitshow("thread-calls-exit", p, 0);

    p = fork();
    if (p == 0) {
        pthread_barrier_init(&bar, NULL, 2);
        pthread_t a, b;
        pthread_create(&a, NULL, block_forever, NULL);
        pthread_create(&b, NULL, wait_then_exit, (void*)6L);
        pthread_barrier_wait(&bar);
        pthread_exit(NULL); /* main thread leaves first */
    }
    waitshow("main-pthread_exit-then-exit", p, 0);

    p = fork();
    if (p == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, pthread_exit_quietly, NULL);
        pthread_create(&b, NULL, pthread_exit_quietly, NULL);
        pthread_exit(NULL); /* the last thread out exits with 0 */
    }
    waitshow("all-threads-pthread_exit", p, 0);

    sigprocmask(SIG_BLOCK, &usr, &old);
    memset(sh, 0, sizeof *sh);
    p = fork();
    if (p == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, block_forever, NULL);
        pthread_create(&b, NULL, block_forever, NULL);
        sh->ready = 1;
        for (;;)
            pause();
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    while (!sh->ready)
        sched_yield();
    kill(p, SIGTERM);
    waitshow("threaded-sigterm", p, 0);

    p = fork();
    if (p == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, block_forever, NULL);
        pthread_create(&b, NULL, fault_in_thread, NULL);
        for (;;)
            pause();
    }
    waitshow("fault-in-thread", p, 0);

    /* --- PR_SET_PDEATHSIG --- */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    int v = -1;
    prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
    printf("pdeathsig-initial: %d\n", v);
    p = fork();
    if (p == 0) {
        int pr = prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        int v2 = -1;
        prctl(PR_GET_PDEATHSIG, &v2, 0, 0, 0);
        printf("pdeathsig-set: %d reads=%s\n", pr, signame(v2));
        errno = 0;
        pr = prctl(PR_SET_PDEATHSIG, 12345, 0, 0, 0);
        printf("pdeathsig-bad: %d %s\n", pr, ename(errno));
        pid_t h = fork();
        if (h == 0) {
            int v3 = -1;
            prctl(PR_GET_PDEATHSIG, &v3, 0, 0, 0);
            printf("pdeathsig-after-fork: %d\n", v3);
            _exit(0);
        }
        waitpid(h, NULL, 0);
        execl(self, self, "get-pdeathsig", (char*)NULL);
        _exit(127);
    }
    waitshow("pdeathsig-checker", p, 0);

    /* default action: the orphan dies of it */
    memset(sh, 0, sizeof *sh);
    pid_t c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
            sh->ready = 1;
            for (;;)
                pause();
        }
        sh->pid = g;
        while (!sh->ready)
            sched_yield();
        _exit(0);
    }
    waitshow("pdeath-parent", c, 0);
    waitshow("pdeath-sigterm-orphan", sh->pid, 0);

    /* handled: siginfo and getppid inside the handler */
    memset(sh, 0, sizeof *sh);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_pdeath;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    c = fork();
    if (c == 0) {
        expect_pid = getpid();
        expect_ppid = me;
        pid_t g = fork();
        if (g == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
            sh->ready = 1;
            for (;;)
                pause();
        }
        sh->pid = g;
        while (!sh->ready)
            sched_yield();
        _exit(0);
    }
    signal(SIGUSR2, SIG_DFL);
    waitshow("pdeath-parent-2", c, 0);
    waitshow("pdeath-handled (47 = si_pid dead parent, getppid new parent, SI_USER)", sh->pid, 0);

    /* the thread that forked exits: that alone fires the pdeath signal */
    memset(sh, 0, sizeof *sh);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_pdeath;
    sa.sa_flags = SA_SIGINFO;
    expect_pid = -1;
    expect_ppid = me;
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, fork_pdeath_then_exit, NULL);
    pthread_join(t, NULL);
    signal(SIGUSR2, SIG_DFL);
    /* 46 = getppid still us (the process), SI_USER; si_pid is the thread's tid */
    waitshow("pdeath-thread-exit", sh->pid, 0);

    errno = 0;
    r = wait(NULL);
    printf("end: %s %s\n", rv(r), ename(errno));
    return 0;
}
