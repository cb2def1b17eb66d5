/* SIGCHLD, compared with native: the siginfo an SA_SIGINFO handler gets
 * for an exited and for a killed child (si_signo, si_code, si_status, si_pid
 * and si_uid as relations); SIGCHLD pending while blocked (standard signal:
 * several exits coalesce into one) and fetched with sigtimedwait; a handler
 * that reaps with a WNOHANG loop; SIGCHLD set to SIG_IGN auto-reaping
 * children (wait blocks until they are gone, then ECHILD) but leaving an
 * existing zombie alone; SA_NOCLDWAIT auto-reaping while Linux still
 * delivers SIGCHLD; and a wait interrupted by a handler: EINTR without
 * SA_RESTART, restarted with it (the signals come from the child itself,
 * acknowledged through a shared page, so nothing depends on timing). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

/* CLD_TRAPPED and 0 (SI_USER) are "other" here */
static const char* code_name(int code)
{
    return code == 0 || code == CLD_TRAPPED ? "other" : cld_code_name(code);
}

static volatile sig_atomic_t got, h_signo, h_code, h_status, h_uid_ok;
static volatile pid_t h_pid;

static void on_chld(int signo, siginfo_t* si, void* uc)
{
    (void)uc;
    got++;
    h_signo = signo;
    h_code = si->si_code;
    h_status = si->si_status;
    h_pid = si->si_pid;
    h_uid_ok = si->si_uid == getuid();
}

static volatile sig_atomic_t reaped;
static void reaper(int signo)
{
    (void)signo;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        reaped++;
    errno = saved;
}

static void set_action(int sig, void (*h)(int), void (*sa3)(int, siginfo_t*, void*), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (sa3) {
        sa.sa_sigaction = sa3;
        flags |= SA_SIGINFO;
    } else {
        sa.sa_handler = h;
    }
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static sigset_t block_chld(void)
{
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    sigprocmask(SIG_BLOCK, &s, &old);
    return old;
}

static void show_handler(const char* label, pid_t expect)
{
    printf("%s: got=%d signo=%s code=%s status=%d pid-match=%d uid-match=%d\n", label, (int)got,
           h_signo == SIGCHLD ? "SIGCHLD" : "other", code_name(h_code), (int)h_status, h_pid == expect,
           (int)h_uid_ok);
}

/* --- wait interrupted by a signal sent by the awaited child --- */
struct shared {
    volatile int waiting; /* parent is about to wait */
    volatile int acks;    /* SIGUSR1 handler runs in the parent */
    volatile int stop;    /* parent saw what it wanted */
};
static struct shared* sh;
static void on_usr1(int signo)
{
    (void)signo;
    sh->acks++;
}

/* child: once the parent says it is waiting, send acknowledged SIGUSR1s
 * until told to stop or `limit` were acknowledged, then exit 5 */
static pid_t signaller(int limit)
{
    pid_t parent = getpid();
    pid_t p = fork();
    if (p == 0) {
        while (!sh->waiting)
            sched_yield();
        int sent = 0;
        while (!sh->stop && sent < limit) {
            int a = sh->acks;
            kill(parent, SIGUSR1);
            while (sh->acks == a && !sh->stop)
                sched_yield();
            sent++;
        }
        _exit(5);
    }
    return p;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    sigset_t empty;
    sigemptyset(&empty);
    int st;
    pid_t r;

    /* --- handler siginfo, exited child --- */
    sigset_t old = block_chld();
    set_action(SIGCHLD, NULL, on_chld, 0);
    pid_t p = fork();
    if (p == 0)
        _exit(7);
    while (!got)
        sigsuspend(&empty);
    show_handler("handler-exited", p);
    r = waitpid(p, &st, 0);
    printf("handler-exited-still-waitable: match=%d exited=%d\n", r == p, WEXITSTATUS(st));

    /* --- killed child --- */
    got = 0;
    p = fork();
    if (p == 0)
        for (;;)
            pause();
    kill(p, SIGKILL);
    while (!got)
        sigsuspend(&empty);
    show_handler("handler-killed", p);
    printf("  status-is-SIGKILL: %d\n", h_status == SIGKILL);
    waitpid(p, &st, 0);

    /* --- SIGTERM'd child --- */
    got = 0;
    p = fork();
    if (p == 0)
        for (;;)
            pause();
    kill(p, SIGTERM);
    while (!got)
        sigsuspend(&empty);
    show_handler("handler-sigterm", p);
    printf("  status-is-SIGTERM: %d\n", h_status == SIGTERM);
    waitpid(p, &st, 0);

    /* --- pending while blocked, coalesced, fetched by sigtimedwait --- */
    set_action(SIGCHLD, SIG_DFL, NULL, 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(70 + i);
    }
    siginfo_t si;
    for (int i = 0; i < 3; i++) /* all three are zombies now */
        waitid(P_PID, kids[i], &si, WEXITED | WNOWAIT);
    sigset_t pend;
    sigpending(&pend);
    printf("pending-while-blocked: %d\n", sigismember(&pend, SIGCHLD));
    memset(&si, 0, sizeof si);
    struct timespec zero = { 0, 0 }; /* it is pending already: never wait */
    int sig = sigtimedwait(&chld, &si, &zero);
    int which = -1;
    for (int i = 0; i < 3; i++)
        if (si.si_pid == kids[i])
            which = i;
    printf("sigtimedwait: sig=%s code=%s one-of-ours=%d status-matches=%d\n", sig == SIGCHLD ? "SIGCHLD" : "other",
           code_name(si.si_code), which >= 0, which >= 0 && si.si_status == 70 + which);
    sigpending(&pend);
    printf("coalesced-nothing-left: %d\n", !sigismember(&pend, SIGCHLD));
    int n = 0;
    while (waitpid(-1, &st, 0) > 0)
        n++;
    printf("reaped-after-sigtimedwait: %d\n", n);
    /* reaping does not clear a pending SIGCHLD: a fresh exit makes one */
    p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, &st, 0);
    sigpending(&pend);
    printf("pending-after-reap: %d\n", sigismember(&pend, SIGCHLD));
    sigtimedwait(&chld, &si, &zero);

    /* --- reaper handler --- */
    set_action(SIGCHLD, reaper, NULL, SA_RESTART);
    for (int i = 0; i < 10; i++) {
        p = fork();
        if (p == 0)
            _exit(i);
    }
    while (reaped < 10)
        sigsuspend(&empty);
    printf("reaper-handler: reaped=%d\n", (int)reaped);
    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    printf("reaper-handler-none-left: %s %s\n", rv(r), ename(errno));
    set_action(SIGCHLD, SIG_DFL, NULL, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* --- SIG_IGN: existing zombie stays, new children are auto-reaped --- */
    pid_t z = fork();
    if (z == 0)
        _exit(12);
    waitid(P_PID, z, &si, WEXITED | WNOWAIT);
    signal(SIGCHLD, SIG_IGN);
    pid_t running = fork();
    if (running == 0)
        for (;;)
            pause();
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(1);
    }
    r = waitpid(z, &st, 0);
    printf("ign-old-zombie-waitable: match=%d exited=%d\n", r == z, WEXITSTATUS(st));
    errno = 0;
    r = waitpid(kids[0], &st, 0);
    printf("ign-waitpid-specific: %s %s\n", rv(r), ename(errno));
    r = waitpid(-1, &st, WNOHANG);
    printf("ign-wnohang-while-one-runs: %s\n", rv(r));
    kill(running, SIGKILL);
    errno = 0;
    r = wait(&st); /* blocks until every child is gone */
    printf("ign-wait: %s %s\n", rv(r), ename(errno));
    int gone = 1;
    for (int i = 0; i < 3; i++)
        gone &= kill(kids[i], 0) == -1 && errno == ESRCH;
    gone &= kill(running, 0) == -1 && errno == ESRCH;
    printf("ign-children-gone: %d\n", gone);
    /* waitid also reports ECHILD */
    p = fork();
    if (p == 0)
        _exit(2);
    errno = 0;
    int wr = waitid(P_ALL, 0, &si, WEXITED);
    printf("ign-waitid: %d %s\n", wr, ename(errno));
    signal(SIGCHLD, SIG_DFL);

    /* --- SA_NOCLDWAIT with a handler: SIGCHLD still arrives --- */
    old = block_chld();
    got = 0;
    set_action(SIGCHLD, NULL, on_chld, SA_NOCLDWAIT);
    p = fork();
    if (p == 0)
        _exit(9);
    while (!got)
        sigsuspend(&empty);
    show_handler("nocldwait-handler", p);
    errno = 0;
    r = wait(&st);
    printf("nocldwait-wait: %s %s\n", rv(r), ename(errno));
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* --- SA_NOCLDWAIT with SIG_DFL --- */
    set_action(SIGCHLD, SIG_DFL, NULL, SA_NOCLDWAIT);
    p = fork();
    if (p == 0)
        _exit(9);
    errno = 0;
    r = wait(&st);
    printf("nocldwait-dfl-wait: %s %s\n", rv(r), ename(errno));
    errno = 0;
    printf("nocldwait-dfl-gone: %d\n", kill(p, 0) == -1 && errno == ESRCH);
    set_action(SIGCHLD, SIG_DFL, NULL, 0);

    /* --- back to normal: children are zombies again --- */
    p = fork();
    if (p == 0)
        _exit(11);
    r = waitpid(p, &st, 0);
    printf("default-again: match=%d exited=%d\n", r == p, WEXITSTATUS(st));

    /* --- wait interrupted: EINTR without SA_RESTART --- */
    sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof *sh);
    set_action(SIGUSR1, on_usr1, NULL, 0);
    p = signaller(100000);
    sh->waiting = 1;
    errno = 0;
    r = waitpid(p, &st, 0);
    int e = errno;
    sh->stop = 1;
    printf("no-restart-waitpid: %s %s\n", r == -1 ? "-1" : (r == p ? "child" : "other"), ename(e));
    do /* a signal already on its way when we said stop may interrupt again */
        r = waitpid(p, &st, 0);
    while (r == -1 && errno == EINTR);
    printf("no-restart-then: match=%d exited=%d\n", r == p, WEXITSTATUS(st));

    /* same with waitid */
    memset(sh, 0, sizeof *sh);
    p = signaller(100000);
    sh->waiting = 1;
    errno = 0;
    wr = waitid(P_PID, p, &si, WEXITED);
    e = errno;
    sh->stop = 1;
    printf("no-restart-waitid: %d %s\n", wr, ename(e));
    do
        r = waitpid(p, &st, 0);
    while (r == -1 && errno == EINTR);

    /* SA_RESTART: 200 handled signals during the wait, then the exit */
    memset(sh, 0, sizeof *sh);
    set_action(SIGUSR1, on_usr1, NULL, SA_RESTART);
    p = signaller(200);
    sh->waiting = 1;
    errno = 0;
    r = waitpid(p, &st, 0);
    e = errno;
    printf("restart-waitpid: %s %s exited=%d acks>=200: %d\n", r == -1 ? "-1" : (r == p ? "child" : "other"),
           r == -1 ? ename(e) : "-", r == p ? WEXITSTATUS(st) : -1, sh->acks >= 200);
    while (r == -1 && errno == EINTR)
        r = waitpid(p, &st, 0);

    memset(sh, 0, sizeof *sh);
    p = signaller(200);
    sh->waiting = 1;
    memset(&si, 0, sizeof si);
    errno = 0;
    wr = waitid(P_PID, p, &si, WEXITED);
    e = errno;
    printf("restart-waitid: %d %s status=%d\n", wr, wr ? ename(e) : "-", si.si_status);
    if (wr)
        do
            r = waitpid(p, &st, 0);
        while (r == -1 && errno == EINTR);

    errno = 0;
    r = wait(&st);
    printf("end: %s %s\n", rv(r), ename(errno));
    return 0;
}
