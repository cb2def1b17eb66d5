/* Process groups and sessions, compared with native: getpgrp/getpgid/
 * getsid inherited by a child, setpgid(0,0) making a group leader (seen by
 * the child and by the parent), a child joining a sibling's group, moving
 * back, a group outliving its leader, setsid (new session and group, sid
 * inherited by grandchildren) and the errors: setsid by a group leader
 * (EPERM), setpgid by a session leader, into another session or into a
 * group that does not exist (EPERM), a negative pgid (EINVAL), a non-child
 * or missing pid (ESRCH), a child that has exec'd (EACCES); getpgid/getsid
 * of a missing pid (ESRCH).  The main process never changes its own group
 * or session; every pid is printed as a relation. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static void reap(const char* label, pid_t p)
{
    int st = 0;
    pid_t r = waitpid(p, &st, 0);
    if (r != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        printf("%s: child failed (match=%d status=0x%x)\n", label, r == p, st);
}

static volatile sig_atomic_t ready;
static void on_usr1(int s)
{
    (void)s;
    ready = 1;
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        /* after exec: tell the parent, then wait to be killed */
        kill(getppid(), SIGUSR1);
        for (;;)
            pause();
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    pid_t me = getpid(), mypg = getpgrp(), mysid = getsid(0);
    int st;

    printf("self: getpgrp==getpgid(0): %d getpgid(0)==getpgid(getpid()): %d getsid(0)==getsid(getpid()): %d\n",
           getpgrp() == getpgid(0), getpgid(0) == getpgid(me), getsid(0) == getsid(me));

    /* --- inheritance --- */
    pid_t p = fork();
    if (p == 0) {
        printf("child-inherits: pgid=%d sid=%d not-leader=%d\n", getpgrp() == mypg, getsid(0) == mysid,
               getpgrp() != getpid());
        _exit(0);
    }
    reap("inherit", p);

    /* --- setpgid(0,0) in the child --- */
    p = fork();
    if (p == 0) {
        errno = 0;
        int r = setpgid(0, 0);
        printf("child-setpgid00: %s leader=%d same-session=%d\n", res_ok(r), getpgrp() == getpid(),
               getsid(0) == mysid);
        errno = 0;
        r = setpgid(0, 0); /* again: no-op, fine */
        printf("child-setpgid00-again: %s\n", res_ok(r));
        errno = 0;
        pid_t s = setsid();
        printf("leader-setsid: %s %s\n", rv(s), ename(errno));
        _exit(0);
    }
    reap("setpgid00", p);

    /* --- parent moves a child; the child sees it --- */
    p = child_pause();
    errno = 0;
    int r = setpgid(p, p);
    printf("parent-setpgid-child: %s child-pgid-is-child=%d\n", res_ok(r), getpgid(p) == p);
    errno = 0;
    r = setpgid(p, 0); /* 0 means pgid = pid */
    printf("parent-setpgid-child-0: %s still=%d\n", res_ok(r), getpgid(p) == p);
    /* a second child joins the first one's group */
    pid_t q = child_pause();
    errno = 0;
    r = setpgid(q, p);
    printf("join-sibling-group: %s q-in-p-group=%d\n", res_ok(r), getpgid(q) == p);
    /* and moves back to ours */
    errno = 0;
    r = setpgid(q, mypg);
    printf("move-back: %s q-in-our-group=%d\n", res_ok(r), getpgid(q) == mypg);
    /* a group that does not exist in our session */
    errno = 0;
    r = setpgid(q, INT_MAX - 1);
    printf("nonexistent-group: %s\n", res_ok(r));
    errno = 0;
    r = setpgid(q, -5);
    printf("negative-pgid: %s\n", res_ok(r));
    errno = 0;
    r = setpgid(-5, 0);
    printf("negative-pid: %s\n", res_ok(r));
    errno = 0;
    r = setpgid(INT_MAX, 0);
    printf("missing-pid: %s\n", res_ok(r));

    /* the group outlives its leader: p dies, q can still join group p */
    setpgid(q, p);
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    pid_t q2 = child_pause();
    errno = 0;
    r = setpgid(q2, p);
    printf("join-group-of-dead-leader: %s q2-in-group=%d\n", res_ok(r), getpgid(q2) == p);
    kill(q, SIGKILL);
    kill(q2, SIGKILL);
    waitpid(q, &st, 0);
    waitpid(q2, &st, 0);
    /* now the group is empty and gone */
    pid_t q3 = child_pause();
    errno = 0;
    r = setpgid(q3, p);
    printf("join-empty-group: %s\n", res_ok(r));
    kill(q3, SIGKILL);
    waitpid(q3, &st, 0);

    /* --- missing pids --- */
    errno = 0;
    pid_t g = getpgid(INT_MAX);
    printf("getpgid-missing: %s %s\n", rv(g), ename(errno));
    errno = 0;
    g = getsid(INT_MAX);
    printf("getsid-missing: %s %s\n", rv(g), ename(errno));

    /* --- setsid in a child --- */
    volatile pid_t* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shared[0] = 0;
    shared[1] = 0;
    p = fork();
    if (p == 0) {
        errno = 0;
        pid_t s = setsid();
        printf("child-setsid: returns-pid=%d sid=%d pgid=%d\n", s == getpid(), getsid(0) == getpid(),
               getpgrp() == getpid());
        errno = 0;
        int r2 = setsid();
        printf("child-setsid-again: %s %s\n", rv(r2), ename(errno));
        errno = 0;
        r2 = setpgid(0, 0);
        printf("session-leader-setpgid00: %s\n", res_ok(r2));
        errno = 0;
        r2 = setpgid(0, mypg); /* the parent's group, in another session */
        printf("session-leader-to-old-group: %s\n", res_ok(r2));
        pid_t gc = fork();
        if (gc == 0) {
            printf("grandchild: sid-inherited=%d pgid-inherited=%d\n", getsid(0) == getppid(),
                   getpgrp() == getppid());
            errno = 0;
            int r3 = setpgid(0, mypg);
            printf("grandchild-to-other-session-group: %s\n", res_ok(r3));
            errno = 0;
            r3 = setpgid(0, 0);
            printf("grandchild-own-group: %s leader=%d sid-unchanged=%d\n", res_ok(r3), getpgrp() == getpid(),
                   getsid(0) == getppid());
            errno = 0;
            r3 = setpgid(0, getppid()); /* back to the session leader's group */
            printf("grandchild-back: %s\n", res_ok(r3));
            errno = 0;
            pid_t s3 = setsid();
            printf("grandchild-setsid: ok=%d\n", s3 == getpid());
            _exit(0);
        }
        reap("grandchild", gc);
        /* a grandchild that stays around for the parent to look at */
        gc = child_pause();
        shared[0] = gc;
        while (!shared[1])
            sched_yield();
        kill(gc, SIGKILL);
        waitpid(gc, &st, 0);
        _exit(0);
    }
    while (!shared[0])
        sched_yield();
    pid_t gc = shared[0];
    printf("parent-sees-child-session: getsid=%d getpgid=%d\n", getsid(p) == p, getpgid(p) == p);
    printf("parent-sees-grandchild: getsid=%d getpgid=%d\n", getsid(gc) == p, getpgid(gc) == p);
    errno = 0;
    r = setpgid(gc, gc);
    printf("setpgid-grandchild: %s\n", res_ok(r));
    errno = 0;
    r = setpgid(p, p);
    printf("setpgid-child-other-session: %s\n", res_ok(r));
    errno = 0;
    r = setpgid(p, mypg);
    printf("setpgid-child-other-session-to-ours: %s\n", res_ok(r));
    shared[1] = 1;
    reap("setsid", p);

    /* --- EACCES: the child has exec'd --- */
    const char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    p = fork();
    if (p == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execl(self, self, "exec-child", (char*)NULL);
        _exit(127);
    }
    while (!ready)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = 0;
    r = setpgid(p, p);
    printf("setpgid-after-exec: %s\n", res_ok(r));
    errno = 0;
    r = setpgid(p, mypg);
    printf("setpgid-after-exec-same-group: %s\n", res_ok(r));
    printf("getpgid-after-exec: ours=%d\n", getpgid(p) == mypg);
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    printf("exec-child: killed=%d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    /* before exec, the child's own setpgid and the parent's both work */
    p = fork();
    if (p == 0) {
        setpgid(0, 0);
        printf("child-before-exec: leader=%d\n", getpgrp() == getpid());
        _exit(0);
    }
    reap("before-exec", p);

    printf("main-unchanged: pgid=%d sid=%d\n", getpgrp() == mypg, getsid(0) == mysid);
    return 0;
}
