/* kill between processes, compared with native: a signal to a child with
 * its siginfo (si_code SI_USER, si_pid/si_uid of the sender), sigqueue's
 * SI_QUEUE and value, a child signalling its parent, kill(0, sig) reaching
 * the caller's whole group (done inside a child that made its own group),
 * kill(-pgid, sig) reaching every member and nobody else, signal 0 as an
 * existence check (live child, zombie, reaped), ESRCH for missing pids and
 * groups (INT_MAX, a reaped child, INT_MIN), EINVAL for a bad signal
 * number, EPERM from an unprivileged process, SIGKILL on a zombie, and a
 * child ignoring or blocking a signal.  kill(-1, ...) is never used. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static void show(const char* label, pid_t p)
{
    wait_and_show(label, p, "%s: waitpid mismatch (%s)\n", "other");
}

static volatile sig_atomic_t got, g_code, g_pid_ok, g_uid_ok, g_value;
static volatile pid_t expect_sender;

static void on_sig(int signo, siginfo_t* si, void* uc)
{
    (void)signo;
    (void)uc;
    got++;
    g_code = si->si_code;
    g_pid_ok = si->si_pid == expect_sender;
    g_uid_ok = si->si_uid == getuid();
    g_value = si->si_value.sival_int;
}

static void install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
}

static const char* code_name(int c)
{
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    default: return "other";
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    pid_t me = getpid();
    int st, r;
    sigset_t empty, usr, old;
    sigemptyset(&empty);
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigaddset(&usr, SIGUSR2);

    /* --- a handled signal to a child: siginfo as the child sees it --- */
    install(SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr, &old);
    expect_sender = me;
    pid_t p = fork();
    if (p == 0) {
        while (!got)
            sigsuspend(&empty);
        printf("child-got: code=%s pid-is-parent=%d uid-ok=%d\n", code_name(g_code), (int)g_pid_ok,
               (int)g_uid_ok);
        _exit(got == 1 ? 0 : 1);
    }
    r = kill(p, SIGUSR1);
    const char* kr = res_ok(r);
    show("child-after-signal", p); /* prints after the child's own line */
    printf("kill-child: %s\n", kr);

    /* --- sigqueue carries a value --- */
    p = fork();
    if (p == 0) {
        while (!got)
            sigsuspend(&empty);
        printf("child-got-queued: code=%s value=%d pid-is-parent=%d\n", code_name(g_code), (int)g_value,
               (int)g_pid_ok);
        _exit(0);
    }
    union sigval v = { .sival_int = 4242 };
    r = sigqueue(p, SIGUSR1, v);
    kr = res_ok(r);
    show("child-after-sigqueue", p);
    printf("sigqueue-child: %s\n", kr);

    /* --- the child signals the parent --- */
    got = 0;
    p = fork();
    if (p == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    expect_sender = p;
    while (!got)
        sigsuspend(&empty);
    printf("parent-got: code=%s pid-is-child=%d uid-ok=%d\n", code_name(g_code), (int)g_pid_ok, (int)g_uid_ok);
    show("signalling-child", p);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);

    /* --- default actions in children --- */
    p = child_pause();
    kill(p, SIGUSR2);
    show("sigusr2-default", p);
    p = child_pause();
    kill(p, SIGINT);
    show("sigint-default", p);
    p = child_pause();
    kill(p, SIGHUP);
    show("sighup-default", p);

    /* ignored in the child (inherited across fork): survives, then SIGKILL */
    signal(SIGUSR2, SIG_IGN);
    p = child_pause();
    signal(SIGUSR2, SIG_DFL);
    kill(p, SIGUSR2);
    r = waitpid(p, &st, WNOHANG);
    printf("ignored-usr2-still-alive: %d\n", r == 0);
    kill(p, SIGKILL);
    show("ignored-then-sigkill", p);

    /* --- signal 0: existence --- */
    p = child_pause();
    errno = 0;
    r = kill(p, 0);
    printf("sig0-live: %s\n", res_ok(r));
    kill(p, SIGKILL);
    siginfo_t si;
    waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    errno = 0;
    r = kill(p, 0);
    printf("sig0-zombie: %s\n", res_ok(r));
    errno = 0;
    r = kill(p, SIGKILL);
    printf("sigkill-zombie: %s\n", res_ok(r));
    errno = 0;
    r = kill(-p, 0); /* its group is ours, not p */
    printf("sig0-zombie-as-group: %s\n", res_ok(r));
    waitpid(p, &st, 0);
    errno = 0;
    r = kill(p, 0);
    printf("sig0-reaped: %s\n", res_ok(r));
    errno = 0;
    r = kill(p, SIGTERM);
    printf("sigterm-reaped: %s\n", res_ok(r));

    /* --- missing targets and bad signals --- */
    errno = 0;
    r = kill(INT_MAX, SIGTERM);
    printf("kill-INT_MAX: %s\n", res_ok(r));
    errno = 0;
    r = kill(INT_MAX, 0);
    printf("kill-INT_MAX-sig0: %s\n", res_ok(r));
    errno = 0;
    r = kill(-(INT_MAX - 1), SIGTERM);
    printf("kill-missing-group: %s\n", res_ok(r));
    errno = 0;
    r = kill(INT_MIN, SIGTERM);
    printf("kill-INT_MIN: %s\n", res_ok(r));
    p = child_pause();
    errno = 0;
    r = kill(p, 1000);
    printf("kill-bad-signal: %s\n", res_ok(r));
    errno = 0;
    r = kill(p, -1);
    printf("kill-negative-signal: %s\n", res_ok(r));
    errno = 0;
    r = kill(p, 65);
    printf("kill-signal-65: %s\n", res_ok(r));
    kill(p, SIGKILL);
    show("after-bad-signals", p);

    /* --- realtime signal to a child --- */
    p = child_pause();
    kill(p, SIGRTMIN + 2);
    waitpid(p, &st, 0);
    printf("sigrtmin+2-default: killed=%d is-rtmin+2=%d\n", WIFSIGNALED(st), WTERMSIG(st) == SIGRTMIN + 2);

    /* --- kill(-pgid) reaches the group and nobody else --- */
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
        for (;;)
            pause();
    }
    setpgid(g2, g1);
    pid_t g3 = fork();
    if (g3 == 0) {
        setpgid(0, g1);
        for (;;)
            pause();
    }
    setpgid(g3, g1);
    pid_t outsider = fork();
    if (outsider == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    setpgid(outsider, outsider);
    errno = 0;
    r = kill(-g1, 0);
    printf("group-sig0: %s\n", res_ok(r));
    errno = 0;
    r = kill(-g1, SIGTERM);
    printf("kill-neg-pgid: %s\n", res_ok(r));
    show("group-leader", g1);
    show("group-member-2", g2);
    show("group-member-3", g3);
    errno = 0;
    r = kill(-g1, SIGTERM);
    printf("kill-emptied-group: %s\n", res_ok(r));
    errno = 0;
    r = kill(outsider, 0);
    printf("outsider-alive: %s\n", res_ok(r));
    r = waitpid(outsider, &st, WNOHANG);
    printf("outsider-not-exited: %d\n", r == 0);
    kill(-outsider, SIGKILL);
    show("outsider-by-its-group", outsider);

    /* --- kill(0, sig) inside a child that leads its own group --- */
    p = fork();
    if (p == 0) {
        setpgid(0, 0);
        pid_t m[3];
        for (int i = 0; i < 3; i++) {
            m[i] = fork();
            if (m[i] == 0)
                for (;;)
                    pause();
        }
        signal(SIGTERM, SIG_IGN); /* the leader survives its own broadcast */
        errno = 0;
        int r2 = kill(0, SIGTERM);
        printf("kill0: %s\n", res_ok(r2));
        int killed = 0;
        for (int i = 0; i < 3; i++) {
            int s2;
            if (waitpid(m[i], &s2, 0) == m[i] && WIFSIGNALED(s2) && WTERMSIG(s2) == SIGTERM)
                killed++;
        }
        printf("kill0-members-killed: %d\n", killed);
        /* the sender itself gets it too: blocked, so it stays pending */
        sigset_t s, pend;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, NULL);
        kill(0, SIGUSR1);
        sigpending(&pend);
        printf("kill0-reaches-self: %d\n", sigismember(&pend, SIGUSR1));
        /* kill(-getpgrp()) is the same group */
        signal(SIGUSR1, SIG_IGN);
        errno = 0;
        r2 = kill(-getpgrp(), 0); /* signal 0: the group exists */
        printf("kill-own-group-sig0: %s\n", res_ok(r2));
        _exit(0);
    }
    show("kill0-leader", p);

    /* --- EPERM: an unprivileged child may not signal us --- */
    p = fork();
    if (p == 0) {
        if (getuid() == 0 && setresuid(65534, 65534, 65534) != 0)
            _exit(2);
        errno = 0;
        int r2 = kill(me, 0);
        printf("unprivileged-kill-parent: %s\n", res_ok(r2));
        errno = 0;
        r2 = kill(me, SIGTERM);
        printf("unprivileged-sigterm-parent: %s\n", res_ok(r2));
        _exit(0);
    }
    show("unprivileged-child", p);

    errno = 0;
    r = wait(&st);
    printf("end: %s %s\n", rv(r), ename(errno));
    return 0;
}
