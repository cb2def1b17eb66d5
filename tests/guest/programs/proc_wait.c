/* wait4/waitpid, compared with native: exit statuses (WIFEXITED and
 * WEXITSTATUS, masking to 8 bits), deaths by SIGKILL, SIGTERM, SIGSEGV and
 * abort (WIFSIGNALED/WTERMSIG; the core bit is never printed),
 * waitpid(-1) collecting every child exactly once, waitpid(pid) out of
 * order, WNOHANG returning 0 while a child runs, ECHILD with no children,
 * for a non-child and for an already reaped child, EINVAL for bad options,
 * wait4 with an rusage buffer, and waitpid(0) / waitpid(-pgid) selecting by
 * process group.  No pids are printed, only relations. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static void show(const char* label, int st)
{
    if (WIFSTOPPED(st))
        printf("%s: stopped by SIG%s\n", label, sigabbrev_np(WSTOPSIG(st)));
    else
        show_status(label, st);
}

static void no_core(void)
{
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
}

static void wait_show(const char* label, pid_t p)
{
    int st = 0;
    pid_t r = waitpid(p, &st, 0);
    if (r != p) {
        printf("%s: waitpid returned %s (%s)\n", label, r == -1 ? "-1" : "other", r == -1 ? ename(errno) : "");
        return;
    }
    show(label, st);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);

    /* --- no children at all --- */
    errno = 0;
    int st;
    pid_t r = wait(&st);
    printf("wait-no-children: %s %s\n", rv(r), ename(errno));
    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    printf("waitpid-wnohang-no-children: %s %s\n", rv(r), ename(errno));
    pid_t gc_parent, gc;
    make_grandchild(&gc_parent, &gc);
    errno = 0;
    r = waitpid(gc, &st, WNOHANG);
    printf("waitpid-grandchild-not-child: %s %s\n", rv(r), ename(errno));
    errno = 0;
    r = waitpid(gc, &st, 0);
    printf("waitpid-grandchild-not-child-blocking: %s %s\n", rv(r), ename(errno));
    kill(gc, SIGKILL);
    wait_show("grandchild-parent", gc_parent);
    errno = 0;
    r = waitpid(INT_MAX, &st, 0);
    printf("waitpid-nonexistent: %s %s\n", rv(r), ename(errno));

    /* --- exit statuses --- */
    int codes[] = { 0, 1, 42, 127, 255, 256 + 7, -1 };
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "exit(%d)", codes[i]);
        wait_show(label, child_exit(codes[i]));
    }

    /* exit() (not _exit) from the child, status through WEXITSTATUS */
    pid_t p = fork();
    if (p == 0)
        exit(3);
    st = 0;
    r = waitpid(p, &st, 0);
    printf("exit-libc: match=%d ifexited=%d status=%d ifsignaled=%d\n", r == p, !!WIFEXITED(st),
           WEXITSTATUS(st), !!WIFSIGNALED(st));

    /* --- deaths by signal --- */
    p = child_pause();
    kill(p, SIGKILL);
    wait_show("sigkill", p);

    p = child_pause();
    kill(p, SIGTERM);
    wait_show("sigterm", p);

    p = fork();
    if (p == 0) {
        no_core();
        abort();
    }
    st = 0;
    waitpid(p, &st, 0);
    printf("abort: ifsignaled=%d termsig=SIG%s ifexited=%d\n", !!WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-", !!WIFEXITED(st));

    p = fork();
    if (p == 0) {
        no_core();
        volatile int* np = NULL;
        *np = 1;
        _exit(99);
    }
    st = 0;
    waitpid(p, &st, 0);
    printf("segv: ifsignaled=%d termsig=SIG%s\n", !!WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");

    p = fork();
    if (p == 0) {
        raise(SIGUSR1);
        _exit(98);
    }
    wait_show("raise-sigusr1", p);

    /* a child that ignores SIGTERM survives it, then dies by SIGKILL */
    signal(SIGTERM, SIG_IGN);
    p = child_pause();
    signal(SIGTERM, SIG_DFL);
    kill(p, SIGTERM);
    errno = 0;
    r = waitpid(p, &st, WNOHANG);
    /* SIGTERM was ignored, so the child is still running */
    printf("ignored-sigterm-still-running: %d\n", r == 0);
    kill(p, SIGKILL);
    wait_show("ignored-sigterm-then-sigkill", p);

    /* --- WNOHANG while running --- */
    p = child_pause();
    st = 12345;
    r = waitpid(p, &st, WNOHANG);
    printf("wnohang-running: ret=%s status-untouched=%d\n", rv(r), st == 12345);
    r = waitpid(-1, &st, WNOHANG);
    printf("wnohang-any-running: ret=%s\n", rv(r));
    kill(p, SIGKILL);
    /* poll with WNOHANG until it is reported */
    int polls = 0;
    do {
        r = waitpid(p, &st, WNOHANG);
        polls++;
    } while (r == 0 && polls < 100000000);
    printf("wnohang-poll: match=%d killed=%d\n", r == p, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    /* --- waitpid(-1): every child exactly once --- */
    enum { N = 8 };
    pid_t kids[N];
    for (int i = 0; i < N; i++)
        kids[i] = child_exit(10 + i);
    int seen[N] = { 0 };
    int others = 0, got = 0;
    for (;;) {
        r = waitpid(-1, &st, 0);
        if (r == -1)
            break;
        got++;
        int found = 0;
        for (int i = 0; i < N; i++)
            if (kids[i] == r) {
                found = 1;
                seen[i] += WIFEXITED(st) && WEXITSTATUS(st) == 10 + i;
            }
        others += !found;
    }
    int e = errno;
    int allonce = 1;
    for (int i = 0; i < N; i++)
        allonce &= seen[i] == 1;
    printf("waitpid-any: reaped=%d each-once-with-its-code=%d strangers=%d end=%s\n", got, allonce, others,
           ename(e));

    /* wait(NULL) also reaps */
    p = child_exit(5);
    r = wait(NULL);
    printf("wait-null-status: match=%d\n", r == p);

    /* --- waitpid(pid) out of order --- */
    pid_t a = child_exit(21), b = child_exit(22), c = child_exit(23);
    wait_show("specific-b", b);
    wait_show("specific-c", c);
    wait_show("specific-a", a);
    errno = 0;
    r = waitpid(a, &st, 0);
    printf("already-reaped: %s %s\n", rv(r), ename(errno));

    /* --- bad options --- */
    p = child_exit(0);
    errno = 0;
    r = waitpid(p, &st, 0x40000);
    printf("bad-options: %s %s\n", rv(r), ename(errno));
    wait_show("after-bad-options", p);

    /* --- wait4 with an rusage buffer (values not printed) --- */
    p = child_exit(6);
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    st = 0;
    r = wait4(p, &st, 0, &ru);
    printf("wait4-rusage: match=%d exited=%d usec-sane=%d\n", r == p, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
           ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 && ru.ru_stime.tv_usec >= 0 &&
               ru.ru_stime.tv_usec < 1000000);

    /* --- status pointer NULL with waitpid --- */
    p = child_exit(9);
    r = waitpid(p, NULL, 0);
    printf("waitpid-null-status: match=%d\n", r == p);

    /* --- waitpid(0) and waitpid(-pgid) --- */
    /* x: own process group, exits at once; y: our group, runs until killed */
    pid_t x = fork();
    if (x == 0) {
        setpgid(0, 0);
        _exit(31);
    }
    setpgid(x, x); /* both sides, so it holds before we go on (EACCES/ESRCH if late is fine) */
    pid_t y = child_pause();
    /* wait until x is a zombie, without reaping it */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int wr = waitid(P_PID, x, &si, WEXITED | WNOWAIT);
    printf("x-zombie: ret=%d pid-match=%d\n", wr, si.si_pid == x);
    printf("x-pgid-is-x: %d  y-pgid-is-ours: %d\n", getpgid(x) == x, getpgid(y) == getpgrp());
    r = waitpid(0, &st, WNOHANG);
    printf("waitpid0-skips-other-group: ret=%s\n", rv(r));
    kill(y, SIGKILL);
    r = waitpid(0, &st, 0);
    printf("waitpid0-gets-our-group: match-y=%d killed=%d\n", r == y, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    errno = 0;
    r = waitpid(0, &st, WNOHANG);
    printf("waitpid0-none-left: %s %s\n", rv(r), ename(errno));
    r = waitpid(-x, &st, 0);
    printf("waitpid-neg-pgid: match-x=%d exited=%d\n", r == x, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    errno = 0;
    r = waitpid(-x, &st, 0);
    printf("waitpid-neg-pgid-again: %s %s\n", rv(r), ename(errno));

    /* two children in a fresh group, a third outside it: -pgid gets only the two */
    pid_t g1 = fork();
    if (g1 == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    setpgid(g1, g1);
    pid_t g2 = fork();
    if (g2 == 0) {
        setpgid(0, g1);
        _exit(41);
    }
    setpgid(g2, g1);
    pid_t out = child_exit(43);
    r = waitpid(-g1, &st, 0);
    printf("group-member: match-g2=%d exited=%d\n", r == g2, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    r = waitpid(-g1, &st, WNOHANG);
    printf("group-leader-running: ret=%s\n", rv(r));
    kill(-g1, SIGKILL);
    r = waitpid(-g1, &st, 0);
    printf("group-leader-killed: match-g1=%d killed=%d\n", r == g1, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    wait_show("outside-group", out);

    errno = 0;
    r = wait(&st);
    printf("all-reaped: %s %s\n", rv(r), ename(errno));
    return 0;
}
