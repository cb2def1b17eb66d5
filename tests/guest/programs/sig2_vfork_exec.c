/* vfork and exec with threads and signals, compared with native: the vfork
 * parent resumes only once the child has exited or exec'd (the child
 * yields, then changes a shared word; the parent sees the final value); a
 * vfork child that SIGKILLs itself or faults (the parent carries on, the
 * status says so); a vfork child killed by another thread of the parent
 * while the parent is blocked; a signal sent to the blocked vfork parent
 * runs its handler only after the child is gone (the child sees it not yet
 * run); exec from a multithreaded process (the new image starts fresh: a
 * static counter is 0, the pid is the old one, the old threads' tids are
 * gone, handlers reset but ignored stays ignored, the mask and pending
 * signals kept, no alternate stack) and exec from a non-leader thread (the
 * pid stays the old tgid, gettid()==getpid(), the exec'ing thread's old tid
 * is gone, a process-wide pending signal is kept but one pending on the old
 * leader thread only is lost, the parent is unchanged and sees one exit). */
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

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: %s\n", "other");
}

static const char* self;
static int counter; /* 42 in the old image before exec */

/* ---------- the exec'd images ---------- */

static volatile int ran;

static void* new_thread_body(void* a)
{
    (void)a;
    ran = 1;
    return NULL;
}

static void after_exec(int argc, char** argv, int from_thread)
{
    /* argv: self, mode, oldpid, oldppid, tid... */
    pid_t oldpid = (pid_t)atol(argv[2]);
    pid_t oldppid = (pid_t)atol(argv[3]);
    const char* tag = from_thread ? "exec from a thread" : "exec from main";
    printf("%s: counter=%d pid_same=%d tid_is_pid=%d ppid_same=%d\n", tag, counter, getpid() == oldpid, gettid_() == getpid(),
        getppid() == oldppid);
    int gone = 0, n = 0;
    for (int i = 4; i < argc; i++) {
        pid_t tid = (pid_t)atol(argv[i]);
        if (tid == getpid()) /* the old leader's tid is the pid, still ours */
            continue;
        n++;
        errno = 0;
        if (tgkill_(getpid(), tid, 0) == -1 && errno == ESRCH)
            gone++;
    }
    printf("%s: old tids gone=%d of %d\n", tag, gone, n);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    int usr1_dfl = sa.sa_handler == SIG_DFL;
    sigaction(SIGUSR2, NULL, &sa);
    int usr2_ign = sa.sa_handler == SIG_IGN;
    sigset_t mask, pend;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    sigpending(&pend);
    stack_t ss;
    sigaltstack(NULL, &ss);
    printf("%s: handler reset=%d ignored kept=%d hup,term blocked=%d,%d altstack disabled=%d\n", tag, usr1_dfl, usr2_ign,
        sigismember(&mask, SIGHUP), sigismember(&mask, SIGTERM), ss.ss_flags == SS_DISABLE);
    printf("%s: pending: process-wide term=%d, hup (raised on the old leader thread)=%d\n", tag, sigismember(&pend, SIGTERM),
        sigismember(&pend, SIGHUP));
    /* threads work in the new image */
    pthread_t th;
    pthread_create(&th, NULL, new_thread_body, NULL);
    pthread_join(th, NULL);
    printf("%s: new thread ran=%d\n", tag, ran);
    fflush(stdout);
    _exit(from_thread ? 22 : 11);
}

/* ---------- exec from a multithreaded process ---------- */

enum { NSPIN = 3 };
static volatile int spinners_started;
static volatile pid_t spinner_tids[NSPIN];
static volatile unsigned long spin_sink;

static void* spinner(void* a)
{
    int i = (int)(long)a;
    spinner_tids[i] = gettid_();
    __atomic_add_fetch(&spinners_started, 1, __ATOMIC_SEQ_CST);
    for (;;)
        spin_sink++;
    return NULL;
}

static void on_usr1_noop(int s)
{
    (void)s;
}

static char altstack[65536];

static void prepare_signal_state(void)
{
    signal(SIGUSR1, on_usr1_noop);
    signal(SIGUSR2, SIG_IGN);
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigaddset(&hup, SIGTERM);
    sigprocmask(SIG_BLOCK, &hup, NULL);
    raise(SIGHUP); /* pending on this thread only */
    kill(getpid(), SIGTERM); /* pending on the process */
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
}

static void exec_self(const char* mode, pid_t* tids, int ntids)
{
    char pidbuf[32], ppidbuf[32], tidbuf[8][32];
    char* av[16];
    int k = 0;
    av[k++] = (char*)self;
    av[k++] = (char*)mode;
    snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
    snprintf(ppidbuf, sizeof ppidbuf, "%d", getppid());
    av[k++] = pidbuf;
    av[k++] = ppidbuf;
    for (int i = 0; i < ntids && i < 8; i++) {
        snprintf(tidbuf[i], sizeof tidbuf[i], "%d", tids[i]);
        av[k++] = tidbuf[i];
    }
    av[k] = NULL;
    execv(self, av);
    printf("execv: %s\n", ename(errno));
    _exit(127);
}

static void exec_from_main_child(void)
{
    counter = 42;
    prepare_signal_state();
    pthread_t th[NSPIN];
    for (int i = 0; i < NSPIN; i++)
        pthread_create(&th[i], NULL, spinner, (void*)(long)i);
    while (__atomic_load_n(&spinners_started, __ATOMIC_SEQ_CST) < NSPIN) {
    }
    pid_t tids[NSPIN];
    for (int i = 0; i < NSPIN; i++)
        tids[i] = spinner_tids[i];
    exec_self("after-exec-main", tids, NSPIN);
}

static volatile pid_t leader_tid;

static void* exec_thread(void* a)
{
    (void)a;
    pid_t tids[NSPIN + 2];
    for (int i = 0; i < NSPIN; i++)
        tids[i] = spinner_tids[i];
    tids[NSPIN] = gettid_(); /* our own old tid */
    tids[NSPIN + 1] = leader_tid; /* == pid: skipped by the checker */
    exec_self("after-exec-thread", tids, NSPIN + 2);
    return NULL;
}

static void exec_from_thread_child(void)
{
    counter = 42;
    prepare_signal_state();
    leader_tid = gettid_();
    pthread_t th[NSPIN];
    for (int i = 0; i < NSPIN; i++)
        pthread_create(&th[i], NULL, spinner, (void*)(long)i);
    while (__atomic_load_n(&spinners_started, __ATOMIC_SEQ_CST) < NSPIN) {
    }
    pthread_t ex;
    pthread_create(&ex, NULL, exec_thread, NULL);
    /* the leader blocks in join: de_thread takes it away */
    pthread_join(ex, NULL);
    printf("leader: join returned?\n");
    _exit(126);
}

/* ---------- vfork ---------- */

static volatile int shared_word;
static volatile pid_t vchild_pid;
static volatile int thread_killed_it, usr1_sent, usr1_hits, child_saw_hits;
static volatile pid_t main_tid;

static void on_usr1(int s)
{
    (void)s;
    usr1_hits++;
}

static void* vfork_killer(void* a)
{
    int send_usr1 = (int)(long)a;
    while (!vchild_pid) {
    }
    if (send_usr1) {
        tgkill_(getpid(), main_tid, SIGUSR1);
        usr1_sent = 1;
    } else {
        kill(vchild_pid, SIGKILL);
        thread_killed_it = 1;
    }
    return NULL;
}

static void vfork_tests(void)
{
    int st;
    pid_t p, r;

    /* the parent resumes after _exit: the child's last write is seen */
    shared_word = 0;
    p = vfork();
    if (p == 0) {
        shared_word = 1;
        for (int i = 0; i < 20; i++)
            sched_yield();
        shared_word = 2;
        _exit(5);
    }
    printf("vfork+_exit: parent sees %d\n", shared_word);
    r = waitpid(p, &st, 0);
    show("vfork+_exit", p, r, st);

    /* ... and after exec: the write just before execve is seen */
    shared_word = 0;
    p = vfork();
    if (p == 0) {
        shared_word = 1;
        for (int i = 0; i < 20; i++)
            sched_yield();
        shared_word = 3;
        execl("/bin/true", "true", (char*)NULL);
        _exit(127);
    }
    printf("vfork+exec: parent sees %d\n", shared_word);
    r = waitpid(p, &st, 0);
    show("vfork+exec /bin/true", p, r, st);

    /* the child kills itself */
    p = vfork();
    if (p == 0) {
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    printf("vfork child SIGKILLed itself: parent running\n");
    r = waitpid(p, &st, 0);
    show("vfork+SIGKILL self", p, r, st);

    /* the child faults */
    p = vfork();
    if (p == 0) {
        *(volatile int*)0 = 1;
        _exit(1);
    }
    r = waitpid(p, &st, 0);
    show("vfork+fault", p, r, st);

    /* the child raises a signal with a default of terminate */
    p = vfork();
    if (p == 0) {
        raise(SIGTERM);
        _exit(1);
    }
    r = waitpid(p, &st, 0);
    show("vfork+raise SIGTERM", p, r, st);

    /* another thread of the parent kills the child while the parent waits */
    vchild_pid = 0;
    thread_killed_it = 0;
    pthread_t th;
    pthread_create(&th, NULL, vfork_killer, (void*)0L);
    p = vfork();
    if (p == 0) {
        vchild_pid = getpid();
        for (;;)
            pause();
    }
    pthread_join(th, NULL);
    printf("vfork child killed by a parent thread: resumed, killer done=%d\n", thread_killed_it);
    r = waitpid(p, &st, 0);
    show("vfork+SIGKILL from a thread", p, r, st);

    /* a signal for the blocked parent waits until the child is gone */
    signal(SIGUSR1, on_usr1);
    main_tid = gettid_();
    vchild_pid = 0;
    usr1_sent = usr1_hits = 0;
    child_saw_hits = -1;
    pthread_create(&th, NULL, vfork_killer, (void*)1L);
    p = vfork();
    if (p == 0) {
        vchild_pid = getpid();
        while (!usr1_sent) {
        }
        for (int i = 0; i < 20; i++)
            sched_yield();
        child_saw_hits = usr1_hits;
        _exit(0);
    }
    int hits_now = usr1_hits;
    pthread_join(th, NULL);
    printf("signal to the vfork parent: child saw handler runs=%d, parent after vfork=%d\n", child_saw_hits, hits_now);
    r = waitpid(p, &st, 0);
    show("vfork with a signal for the parent", p, r, st);
    signal(SIGUSR1, SIG_DFL);
}

int main(int argc, char** argv)
{
    self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    if (argc >= 4 && strcmp(argv[1], "after-exec-main") == 0)
        after_exec(argc, argv, 0);
    if (argc >= 4 && strcmp(argv[1], "after-exec-thread") == 0)
        after_exec(argc, argv, 1);
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);

    vfork_tests();

    int st;
    pid_t p = fork();
    if (p == 0)
        exec_from_main_child();
    pid_t r = waitpid(p, &st, 0);
    show("exec from main with spinning threads", p, r, st);

    p = fork();
    if (p == 0)
        exec_from_thread_child();
    r = waitpid(p, &st, 0);
    show("exec from a non-leader thread", p, r, st);
    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    printf("no more children: %d %s\n", r, ename(errno));
    return 0;
}
