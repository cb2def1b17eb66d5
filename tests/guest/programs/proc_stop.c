/* Stopping and continuing children, compared with native: SIGSTOP from the
 * child itself and from the parent, WUNTRACED/WIFSTOPPED/WSTOPSIG reported
 * once, WCONTINUED/WIFCONTINUED, waitid WSTOPPED/WCONTINUED with CLD_STOPPED
 * and CLD_CONTINUED (and WNOWAIT), SIGCHLD for stop and continue unless
 * SA_NOCLDSTOP, SIGTSTP stopping a child in a non-orphaned group, a handled
 * signal and SIGTERM waiting until SIGCONT, SIGKILL killing a stopped
 * child, SIGCONT flushing a pending stop signal, SIGSTOP not catchable,
 * SIGTSTP discarded in an orphaned process group, and a group that becomes
 * orphaned with a stopped member getting SIGHUP+SIGCONT. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

/* CLD_TRAPPED is "other" here */
static const char* code_name(int code)
{
    return code == CLD_TRAPPED ? "other" : cld_code_name(code);
}

static void describe(const char* label, pid_t p, pid_t r, int st)
{
    if (r == 0) {
        printf("%s: nothing (0)\n", label);
        return;
    }
    if (r != p) {
        printf("%s: waitpid %s\n", label, r == -1 ? ename(errno) : "other pid");
        return;
    }
    if (WIFSTOPPED(st))
        printf("%s: stopped by SIG%s\n", label, sigabbrev_np(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", label);
    else
        show_status(label, st);
}

static void waitshow(const char* label, pid_t p, int opts)
{
    int st = 0;
    errno = 0;
    pid_t r = waitpid(p, &st, opts);
    describe(label, p, r, st);
}

static void waitid_show(const char* label, pid_t p, int opts)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    errno = 0;
    int r = waitid(P_PID, p, &si, opts);
    if (r != 0)
        printf("%s: waitid %s\n", label, ename(errno));
    else
        printf("%s: code=%s status=%s pid-match=%d\n", label, code_name(si.si_code),
               si.si_status ? sigabbrev_np(si.si_status) : "0", si.si_pid == p);
}

static volatile sig_atomic_t nchld, last_code, last_status;
static void on_chld(int s, siginfo_t* si, void* uc)
{
    (void)s;
    (void)uc;
    nchld++;
    last_code = si->si_code;
    last_status = si->si_status;
}

static void on_usr1_nothing(int s)
{
    (void)s;
}

static void on_usr1_exit(int s)
{
    (void)s;
    _exit(21);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    int st;
    pid_t r;

    /* --- SIGSTOP is not catchable --- */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    errno = 0;
    int rr = sigaction(SIGSTOP, &sa, NULL);
    printf("ignore-sigstop: %d %s\n", rr, ename(errno));
    errno = 0;
    rr = sigaction(SIGKILL, &sa, NULL);
    printf("ignore-sigkill: %d %s\n", rr, ename(errno));

    /* --- the child stops itself --- */
    pid_t p = fork();
    if (p == 0) {
        raise(SIGSTOP);
        for (;;)
            pause();
    }
    waitshow("self-stop", p, WUNTRACED);
    waitshow("stop-reported-once", p, WUNTRACED | WNOHANG);
    waitshow("no-continue-yet", p, WCONTINUED | WNOHANG);
    kill(p, SIGCONT);
    waitshow("continued", p, WCONTINUED);
    waitshow("continue-reported-once", p, WCONTINUED | WNOHANG);
    kill(p, SIGCONT); /* not stopped: nothing new to report */
    waitshow("cont-while-running", p, WCONTINUED | WUNTRACED | WNOHANG);
    kill(p, SIGKILL);
    waitshow("then-killed", p, 0);

    /* --- stopped by the parent, seen through waitid --- */
    p = child_pause();
    kill(p, SIGSTOP);
    waitid_show("waitid-stopped-nowait", p, WSTOPPED | WNOWAIT);
    waitid_show("waitid-stopped", p, WSTOPPED);
    {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int r2 = waitid(P_PID, p, &si, WSTOPPED | WNOHANG);
        printf("waitid-stopped-again: ret=%d pid=%s\n", r2, rv(si.si_pid));
    }
    kill(p, SIGSTOP); /* already stopped: no new report */
    waitshow("second-stop-no-report", p, WUNTRACED | WNOHANG);
    kill(p, SIGCONT);
    waitid_show("waitid-continued", p, WCONTINUED);
    /* stop and continue a few times */
    int cycles = 0;
    for (int i = 0; i < 5; i++) {
        kill(p, SIGSTOP);
        r = waitpid(p, &st, WUNTRACED);
        int a = r == p && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
        kill(p, SIGCONT);
        r = waitpid(p, &st, WCONTINUED);
        cycles += a && r == p && WIFCONTINUED(st);
    }
    printf("stop-cont-cycles: %d\n", cycles);
    kill(p, SIGKILL);
    waitshow("cycled-child-killed", p, 0);

    /* --- fatal signals while stopped --- */
    p = child_pause();
    kill(p, SIGSTOP);
    waitshow("stopped-for-sigkill", p, WUNTRACED);
    kill(p, SIGKILL);
    waitshow("sigkill-while-stopped", p, 0);

    p = child_pause();
    kill(p, SIGSTOP);
    waitshow("stopped-for-sigterm", p, WUNTRACED);
    kill(p, SIGTERM); /* stays pending while stopped */
    waitshow("sigterm-pending-while-stopped", p, WNOHANG);
    kill(p, SIGCONT);
    waitshow("sigterm-after-cont", p, 0);

    /* --- a handled signal waits for SIGCONT --- */
    signal(SIGUSR1, on_usr1_exit);
    p = child_pause();
    signal(SIGUSR1, SIG_DFL);
    kill(p, SIGSTOP);
    waitshow("stopped-for-usr1", p, WUNTRACED);
    kill(p, SIGUSR1);
    waitshow("usr1-pending-while-stopped", p, WNOHANG);
    kill(p, SIGCONT);
    waitshow("usr1-handled-after-cont", p, 0);

    /* --- SIGCHLD for stop/continue --- */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    sigaction(SIGCHLD, &sa, NULL);
    p = child_pause();
    kill(p, SIGSTOP);
    while (nchld == 0)
        sigsuspend(&old);
    printf("sigchld-stop: n=%d code=%s status=SIG%s\n", (int)nchld, code_name(last_code),
           sigabbrev_np(last_status));
    waitpid(p, &st, WUNTRACED);
    nchld = 0;
    kill(p, SIGCONT);
    while (nchld == 0)
        sigsuspend(&old);
    printf("sigchld-cont: n=%d code=%s status=SIG%s\n", (int)nchld, code_name(last_code),
           sigabbrev_np(last_status));
    waitpid(p, &st, WCONTINUED);
    /* SA_NOCLDSTOP: no SIGCHLD for stop (nor continue); the exit still signals */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    nchld = 0;
    kill(p, SIGSTOP);
    waitpid(p, &st, WUNTRACED);
    kill(p, SIGCONT);
    waitpid(p, &st, WCONTINUED);
    sigset_t pend;
    sigpending(&pend);
    printf("nocldstop: handler-runs=%d pending=%d\n", (int)nchld, sigismember(&pend, SIGCHLD));
    kill(p, SIGKILL);
    while (nchld == 0)
        sigsuspend(&old);
    printf("nocldstop-exit: n=%d code=%s\n", (int)nchld, code_name(last_code));
    waitpid(p, &st, 0);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* --- SIGTSTP in a non-orphaned group (the child's own; we are its
     * parent, in another group of the same session) --- */
    p = child_pause();
    setpgid(p, p);
    kill(p, SIGTSTP);
    waitshow("sigtstp", p, WUNTRACED);
    kill(p, SIGCONT);
    waitshow("sigtstp-cont", p, WCONTINUED);
    kill(-p, SIGTTIN);
    waitshow("sigttin-to-group", p, WUNTRACED);
    kill(-p, SIGCONT);
    waitshow("group-cont", p, WCONTINUED);
    kill(p, SIGKILL);
    waitshow("tstp-child-killed", p, 0);

    /* --- SIGCONT flushes a pending (blocked) stop signal --- */
    signal(SIGUSR1, on_usr1_nothing);
    sigset_t u1, u1old;
    sigemptyset(&u1);
    sigaddset(&u1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &u1, &u1old);
    p = fork();
    if (p == 0) {
        setpgid(0, 0);
        sigset_t t;
        sigemptyset(&t);
        sigaddset(&t, SIGTSTP);
        sigprocmask(SIG_BLOCK, &t, NULL);
        raise(SIGSTOP); /* the parent sends SIGTSTP (stays pending), then SIGCONT */
        sigset_t pe;
        sigpending(&pe);
        int had = sigismember(&pe, SIGTSTP);
        sigprocmask(SIG_UNBLOCK, &t, NULL);
        sigsuspend(&u1old); /* exit only when told, so "continued" is reported first */
        _exit(had ? 1 : 0);
    }
    sigprocmask(SIG_SETMASK, &u1old, NULL);
    signal(SIGUSR1, SIG_DFL);
    setpgid(p, p);
    waitshow("flush: stopped", p, WUNTRACED);
    kill(p, SIGTSTP);
    kill(p, SIGCONT);
    waitshow("flush: continued", p, WCONTINUED);
    kill(p, SIGUSR1);
    waitshow("flush: exit (0 = tstp was flushed)", p, WUNTRACED);

    /* --- orphaned process groups (inside a new session, so the group's
     * only outside parent is us, in another session) --- */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    p = fork();
    if (p == 0) {
        setsid();
        /* our group is orphaned: SIGTSTP is discarded */
        raise(SIGTSTP);
        printf("orphaned: sigtstp-discarded, still running\n");
        /* a group with a stopped member becomes orphaned: SIGHUP + SIGCONT */
        pid_t a = fork();
        if (a == 0) {
            setpgid(0, 0); /* group a, parent in another group of this session */
            pid_t b = fork();
            if (b == 0) {
                raise(SIGSTOP);
                for (;;)
                    pause();
            }
            int s2;
            waitpid(b, &s2, WUNTRACED);
            printf("orphaned: member stopped=%d\n", WIFSTOPPED(s2));
            /* tell our caller b's pid through the exit code: not possible,
             * the subreaper (main) collects b; just exit */
            _exit(0);
        }
        int s2;
        waitpid(a, &s2, 0);
        _exit(WIFEXITED(s2) ? WEXITSTATUS(s2) : 99);
    }
    waitshow("orphaned: session-leader", p, WUNTRACED);
    /* b was adopted by us; its group became orphaned with it stopped */
    r = waitpid(-1, &st, 0);
    printf("orphaned: stopped-member-got: %s\n",
           r > 0 && WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : (r > 0 ? "not killed" : ename(errno)));

    errno = 0;
    r = waitpid(-1, &st, 0);
    printf("end: %s %s\n", rv(r), ename(errno));
    return 0;
}
