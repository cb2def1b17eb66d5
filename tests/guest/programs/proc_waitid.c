/* waitid, compared with native: P_ALL, P_PID and P_PGID (including id 0,
 * the caller's own group) with WEXITED; the siginfo it fills in (si_signo,
 * si_code CLD_EXITED/CLD_KILLED, si_status, si_pid and si_uid as relations);
 * WNOWAIT leaving the zombie waitable again (by waitid and by waitpid);
 * WNOHANG with nothing ready returning 0 with a zeroed siginfo; and the
 * errors: EINVAL without any of WEXITED/WSTOPPED/WCONTINUED or with a bad
 * idtype, ECHILD for a non-child, for an empty group and with no children. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

/* print what waitid filled in; pid printed as a relation to `expect` */
static void show(const char* label, int ret, const siginfo_t* si, pid_t expect)
{
    printf("%s: ret=%d signo=%s code=%s status=%d pid-match=%d uid-match=%d\n", label, ret,
           si->si_signo == SIGCHLD ? "SIGCHLD" : (si->si_signo == 0 ? "0" : "other"), cld_code_name(si->si_code),
           si->si_status, si->si_pid == expect, si->si_uid == getuid());
}

static int do_waitid(idtype_t t, id_t id, siginfo_t* si, int opts)
{
    memset(si, 0x5a, sizeof *si);
    errno = 0;
    return waitid(t, id, si, opts);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    siginfo_t si;
    int r;

    /* --- no children --- */
    r = do_waitid(P_ALL, 0, &si, WEXITED);
    printf("no-children: %d %s\n", r, ename(errno));
    r = do_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    printf("no-children-wnohang: %d %s\n", r, ename(errno));
    pid_t gc_parent, gc;
    make_grandchild(&gc_parent, &gc);
    r = do_waitid(P_PID, gc, &si, WEXITED);
    printf("grandchild-not-child: %d %s\n", r, ename(errno));
    kill(gc, SIGKILL);
    r = do_waitid(P_PID, gc_parent, &si, WEXITED);
    show("grandchild-parent", r, &si, gc_parent);

    /* --- errors with a child present --- */
    pid_t p = child_exit(3);
    r = do_waitid(P_PID, p, &si, 0);
    printf("no-wexited-etc: %d %s\n", r, ename(errno));
    r = do_waitid((idtype_t)42, p, &si, WEXITED);
    printf("bad-idtype: %d %s\n", r, ename(errno));
    r = do_waitid(P_PID, p, &si, WEXITED | 0x100000);
    printf("bad-option-bit: %d %s\n", r, ename(errno));
    r = do_waitid(P_PGID, INT_MAX, &si, WEXITED);
    printf("empty-pgid: %d %s\n", r, ename(errno));

    /* --- P_PID, exited --- */
    r = do_waitid(P_PID, p, &si, WEXITED);
    show("p_pid-exit3", r, &si, p);
    r = do_waitid(P_PID, p, &si, WEXITED);
    printf("p_pid-again: %d %s\n", r, ename(errno));

    /* --- killed by a signal: CLD_KILLED, si_status is the signal --- */
    p = child_pause();
    kill(p, SIGKILL);
    r = do_waitid(P_PID, p, &si, WEXITED);
    show("p_pid-sigkill", r, &si, p);
    printf("  status-is-SIGKILL: %d\n", si.si_status == SIGKILL);
    p = child_pause();
    kill(p, SIGTERM);
    r = do_waitid(P_PID, p, &si, WEXITED);
    show("p_pid-sigterm", r, &si, p);
    printf("  status-is-SIGTERM: %d\n", si.si_status == SIGTERM);

    /* abort: CLD_KILLED or CLD_DUMPED depending on the core setup */
    p = fork();
    if (p == 0) {
        struct rlimit rl = { 0, 0 };
        setrlimit(RLIMIT_CORE, &rl);
        abort();
    }
    r = do_waitid(P_PID, p, &si, WEXITED);
    printf("p_pid-abort: ret=%d killed-or-dumped=%d status-is-SIGABRT=%d\n", r,
           si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED, si.si_status == SIGABRT);

    /* exit code above 255 is masked */
    p = child_exit(0x1ff);
    r = do_waitid(P_PID, p, &si, WEXITED);
    show("p_pid-exit511", r, &si, p);

    /* --- WNOHANG with a running child: 0 and a zeroed siginfo --- */
    p = child_pause();
    r = do_waitid(P_PID, p, &si, WEXITED | WNOHANG);
    printf("wnohang-running: ret=%d signo=%d pid=%s\n", r, si.si_signo, rv(si.si_pid));
    r = do_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    printf("wnohang-running-all: ret=%d signo=%d pid=%s\n", r, si.si_signo, rv(si.si_pid));
    kill(p, SIGKILL);
    r = do_waitid(P_ALL, 0, &si, WEXITED);
    show("p_all-killed", r, &si, p);

    /* --- WNOWAIT: the zombie stays, several times over --- */
    p = child_exit(17);
    r = do_waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    show("wnowait-1", r, &si, p);
    r = do_waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
    show("wnowait-2-p_all", r, &si, p);
    r = do_waitid(P_PID, p, &si, WEXITED | WNOWAIT | WNOHANG);
    show("wnowait-3-wnohang", r, &si, p);
    printf("zombie-still-exists: kill0=%d\n", kill(p, 0));
    int st = 0;
    pid_t w = waitpid(p, &st, 0);
    printf("waitpid-after-wnowait: match=%d exited=%d\n", w == p, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    r = do_waitid(P_PID, p, &si, WEXITED);
    printf("gone-after-reap: %d %s\n", r, ename(errno));
    errno = 0;
    r = kill(p, 0);
    printf("kill0-after-reap: %d %s\n", r, ename(errno));

    /* --- WNOWAIT then waitid reaps --- */
    p = child_pause();
    kill(p, SIGTERM);
    r = do_waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    show("wnowait-killed", r, &si, p);
    r = do_waitid(P_PID, p, &si, WEXITED);
    show("reap-killed", r, &si, p);

    /* --- P_ALL collecting several children, each once --- */
    enum { N = 6 };
    pid_t kids[N];
    for (int i = 0; i < N; i++)
        kids[i] = child_exit(50 + i);
    int ok = 0, n = 0;
    for (;;) {
        r = do_waitid(P_ALL, 0, &si, WEXITED);
        if (r != 0)
            break;
        n++;
        for (int i = 0; i < N; i++)
            if (kids[i] == si.si_pid && si.si_status == 50 + i && si.si_code == CLD_EXITED)
                ok++;
    }
    printf("p_all-collect: reaped=%d matched=%d end=%s\n", n, ok, ename(errno));

    /* --- P_PGID --- */
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
        _exit(61);
    }
    setpgid(g2, g1);
    pid_t outside = child_exit(62);

    r = do_waitid(P_PGID, g1, &si, WEXITED);
    show("p_pgid-member", r, &si, g2);
    r = do_waitid(P_PGID, g1, &si, WEXITED | WNOHANG);
    printf("p_pgid-leader-running: ret=%d pid=%s\n", r, rv(si.si_pid));
    kill(g1, SIGKILL);
    r = do_waitid(P_PGID, g1, &si, WEXITED);
    show("p_pgid-leader", r, &si, g1);
    r = do_waitid(P_PGID, g1, &si, WEXITED);
    printf("p_pgid-empty: %d %s\n", r, ename(errno));

    /* P_PGID with id 0: the caller's own process group (Linux 5.4+) */
    r = do_waitid(P_PGID, 0, &si, WEXITED);
    show("p_pgid-0-own-group", r, &si, outside);

    r = do_waitid(P_ALL, 0, &si, WEXITED);
    printf("end: %d %s\n", r, ename(errno));

    /* --- the raw syscall with a NULL infop still reaps --- */
    p = child_exit(4);
    long rr = syscall(SYS_waitid, P_PID, p, NULL, WEXITED, NULL);
    printf("raw-null-infop: %ld\n", rr);
    errno = 0;
    r = waitpid(p, &st, WNOHANG);
    printf("raw-null-infop-reaped: %d %s\n", r, ename(errno));
    return 0;
}
