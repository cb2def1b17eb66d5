/* Orphans and PR_SET_CHILD_SUBREAPER, compared with native: the flag reads
 * back, is not inherited by fork but survives execve; an orphan is adopted
 * by the nearest subreaper ancestor (getppid changes to it, skipping a
 * non-subreaper grandparent, or stopping at a nearer subreaper), the
 * subreaper can wait for it (waitpid(pid) and waitpid(-1)), an orphan
 * that is already a zombie is adopted and waitable too; and without a
 * subreaper an orphan's getppid just changes away from its dead parent
 * (where it goes depends on the environment, so only that is printed).
 * Synchronization is by wait, signals and a shared page; no sleeps. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

struct shared {
    volatile pid_t grandchild;
    volatile int ready;    /* the orphan-to-be has recorded its first parent */
    volatile int mid_done; /* the middle process has reaped its child */
};
static struct shared* sh;
static sigset_t waitmask; /* the mask to sigsuspend with (SIGUSR1 unblocked) */

static void on_usr1(int s)
{
    (void)s;
}

static int get_subreaper(void)
{
    int v = -1;
    if (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) != 0)
        return -2;
    return v;
}

/* in an orphan-to-be: wait for the go-ahead from whoever adopts us */
static void await_usr1(void)
{
    sigsuspend(&waitmask);
}

static void show_exit(const char* label, pid_t p, pid_t r, int st)
{
    printf("%s: match=%d exited=%d\n", label, r == p, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "check-subreaper") == 0) {
        printf("after-exec: subreaper=%d\n", get_subreaper());
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    const char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t me = getpid();
    int st;
    pid_t r;

    /* SIGUSR1: handled, blocked except inside sigsuspend */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &waitmask);
    sigdelset(&waitmask, SIGUSR1);

    printf("initial: subreaper=%d\n", get_subreaper());
    int pr = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    printf("set: %d subreaper=%d\n", pr, get_subreaper());

    /* --- not inherited by fork; kept across exec --- */
    pid_t c = fork();
    if (c == 0) {
        printf("forked-child: subreaper=%d\n", get_subreaper());
        _exit(0);
    }
    waitpid(c, &st, 0);
    c = fork();
    if (c == 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        execl(self, self, "check-subreaper", (char*)NULL);
        _exit(127);
    }
    waitpid(c, &st, 0);

    /* --- 1: grandchild adopted by us --- */
    memset(sh, 0, sizeof *sh);
    c = fork();
    if (c == 0) {
        pid_t mid = getpid();
        pid_t g = fork();
        if (g == 0) {
            int first = getppid() == mid;
            sh->ready = 1;
            await_usr1();
            printf("adopted: first-parent-was-child=%d now-parent-is-subreaper=%d\n", first, getppid() == me);
            _exit(33);
        }
        sh->grandchild = g;
        while (!sh->ready)
            sched_yield();
        _exit(0); /* orphan g */
    }
    r = waitpid(c, &st, 0);
    show_exit("middle-exited", c, r, st);
    pid_t g = sh->grandchild;
    kill(g, SIGUSR1);
    r = waitpid(-1, &st, 0);
    show_exit("waitpid-any-gets-adopted", g, r, st);
    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    printf("none-left: %s %s\n", rv(r), ename(errno));

    /* --- 2: a non-subreaper grandparent is skipped --- */
    memset(sh, 0, sizeof *sh);
    c = fork();
    if (c == 0) {
        pid_t cpid = getpid();
        pid_t d = fork();
        if (d == 0) {
            pid_t dpid = getpid();
            pid_t e = fork();
            if (e == 0) {
                int first = getppid() == dpid;
                sh->ready = 1;
                await_usr1();
                printf("skip: first-parent-was-d=%d now-subreaper=%d not-grandparent=%d\n", first,
                       getppid() == me, getppid() != cpid);
                _exit(34);
            }
            sh->grandchild = e;
            while (!sh->ready)
                sched_yield();
            _exit(0);
        }
        waitpid(d, &st, 0);
        /* e is not ours even though we are its grandparent */
        errno = 0;
        r = waitpid(-1, &st, WNOHANG);
        printf("skip: middle-has-no-children: %s %s\n", rv(r), ename(errno));
        sh->mid_done = 1;
        await_usr1();
        _exit(0);
    }
    while (!sh->mid_done)
        sched_yield();
    pid_t e = sh->grandchild;
    kill(e, SIGUSR1);
    r = waitpid(e, &st, 0);
    show_exit("skip-waited-great-grandchild", e, r, st);
    kill(c, SIGUSR1);
    r = waitpid(c, &st, 0);
    show_exit("skip-middle", c, r, st);

    /* --- 3: a nearer subreaper wins --- */
    memset(sh, 0, sizeof *sh);
    c = fork();
    if (c == 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        pid_t cpid = getpid();
        pid_t d = fork();
        if (d == 0) {
            pid_t e2 = fork();
            if (e2 == 0) {
                sh->ready = 1;
                await_usr1();
                printf("nearer: parent-is-inner-subreaper=%d not-outer=%d\n", getppid() == cpid, getppid() != me);
                _exit(35);
            }
            sh->grandchild = e2;
            while (!sh->ready)
                sched_yield();
            _exit(0);
        }
        r = waitpid(d, &st, 0);
        show_exit("nearer-d", d, r, st);
        kill(sh->grandchild, SIGUSR1);
        r = waitpid(-1, &st, 0);
        show_exit("nearer-inner-waits-adopted", sh->grandchild, r, st);
        _exit(0);
    }
    r = waitpid(c, &st, 0);
    show_exit("nearer-inner", c, r, st);
    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    printf("nearer-outer-got-nothing: %s %s\n", rv(r), ename(errno));

    /* --- 4: an orphan that is already a zombie --- */
    memset(sh, 0, sizeof *sh);
    c = fork();
    if (c == 0) {
        pid_t z = fork();
        if (z == 0)
            _exit(36);
        siginfo_t si;
        waitid(P_PID, z, &si, WEXITED | WNOWAIT); /* z is a zombie now */
        sh->grandchild = z;
        _exit(0);
    }
    r = waitpid(c, &st, 0);
    show_exit("zombie-middle", c, r, st);
    pid_t z = sh->grandchild;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int wr = waitid(P_ALL, 0, &si, WEXITED);
    printf("zombie-adopted: ret=%d pid-match=%d code-exited=%d status=%d\n", wr, si.si_pid == z,
           si.si_code == CLD_EXITED, si.si_status);

    /* --- 5: several orphans at once, all adopted --- */
    memset(sh, 0, sizeof *sh);
    c = fork();
    if (c == 0) {
        for (int i = 0; i < 5; i++)
            if (fork() == 0) {
                while (!sh->mid_done)
                    sched_yield();
                _exit(40 + i);
            }
        _exit(0);
    }
    waitpid(c, &st, 0);
    sh->mid_done = 1;
    int sum = 0, n = 0;
    while ((r = waitpid(-1, &st, 0)) > 0) {
        n++;
        sum += WEXITSTATUS(st);
    }
    printf("many-orphans: adopted=%d sum=%d end=%s\n", n, sum, ename(errno));

    /* --- clear the flag --- */
    pr = prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    printf("cleared: %d subreaper=%d\n", pr, get_subreaper());

    /* --- 6: no subreaper: the orphan's parent just changes ---
     * (it goes to an ancestor outside this program, or to us if we happen
     * to be pid 1; either way it is not the dead parent any more).  Run
     * last, since where the orphan ends up is environment-dependent. */
    memset(sh, 0, sizeof *sh);
    c = fork();
    if (c == 0) {
        pid_t mid = getpid();
        pid_t o = fork();
        if (o == 0) {
            int first = getppid() == mid;
            sh->ready = 1;
            await_usr1();
            printf("plain-orphan: first-parent=%d parent-changed=%d\n", first, getppid() != mid);
            sh->mid_done = 1;
            _exit(0);
        }
        sh->grandchild = o;
        while (!sh->ready)
            sched_yield();
        _exit(0);
    }
    waitpid(c, &st, 0);
    kill(sh->grandchild, SIGUSR1);
    while (!sh->mid_done)
        sched_yield();
    return 0;
}
