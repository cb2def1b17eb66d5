/* vfork, compared with native: vfork + _exit (status seen by waitpid, the
 * parent suspended until the child is done, memory shared with the parent
 * as Linux does), vfork + execve of /bin/true and of /bin/sh -c 'exit 7',
 * a failing execve of a missing file followed by _exit(127) (the child's
 * errno is visible in the shared memory), the parent resuming at the
 * child's execve rather than at its exit (the exec'd program waits for a
 * signal that only the resumed parent sends), getppid in the vfork child,
 * and many vforks in a row. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: waitpid mismatch (%s)\n", "other pid");
}

static volatile int shared_word;
static volatile int child_errno;
static volatile pid_t child_saw_parent;
static volatile int exec_child_got_signal;

static void on_usr1(int s)
{
    (void)s;
    exec_child_got_signal = 1;
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "await-usr1") == 0) {
        /* exec'd by a vfork child with SIGUSR1 blocked: wait for it */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        while (!exec_child_got_signal)
            sigsuspend(&none);
        return 9;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    const char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    pid_t me = getpid();
    int st;
    pid_t p, r;

    /* --- vfork + _exit --- */
    shared_word = 1;
    p = vfork();
    if (p == 0) {
        shared_word = 2; /* Linux: the child runs in the parent's memory */
        child_saw_parent = getppid();
        _exit(getppid() == me ? 42 : 43); /* 42: getppid is the parent */
    }
    printf("vfork-returned-pid: %d\n", p > 0 && p != me);
    printf("vfork-memory-shared: %d (child's getppid seen in memory: %d)\n", shared_word, child_saw_parent == me);
    r = waitpid(p, &st, 0);
    show("vfork-_exit", p, r, st);

    /* (the parent resumes when the child lets go of the memory, which is
     * before it becomes a zombie: no WNOHANG check here) */
    p = vfork();
    if (p == 0)
        _exit(3);
    r = waitpid(p, &st, 0);
    show("vfork-_exit-3", p, r, st);

    /* --- vfork + execve /bin/true --- */
    p = vfork();
    if (p == 0) {
        char* av[] = { "true", NULL };
        char* ev[] = { NULL };
        execve("/bin/true", av, ev);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("vfork-exec-true", p, r, st);

    p = vfork();
    if (p == 0) {
        execl("/bin/false", "false", (char*)NULL);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("vfork-exec-false", p, r, st);

    p = vfork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", "exit 7", (char*)NULL);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("vfork-exec-sh-exit7", p, r, st);

    /* --- failing exec: missing file, then _exit(127) --- */
    child_errno = 0;
    p = vfork();
    if (p == 0) {
        char* av[] = { "missing", NULL };
        char* ev[] = { NULL };
        execve("/nonexistent/definitely-missing", av, ev);
        child_errno = errno;
        _exit(errno == ENOENT ? 127 : 125); /* 127: ENOENT */
    }
    printf("vfork-exec-missing-errno-in-memory: %s\n", ename(child_errno));
    r = waitpid(p, &st, 0);
    show("vfork-exec-missing", p, r, st);

    /* a file that exists but is not executable */
    child_errno = 0;
    p = vfork();
    if (p == 0) {
        execl("/etc/passwd", "passwd", (char*)NULL);
        child_errno = errno;
        _exit(errno == EACCES ? 126 : 125); /* 126: EACCES */
    }
    printf("vfork-exec-noexec-errno-in-memory: %s\n", ename(child_errno));
    r = waitpid(p, &st, 0);
    show("vfork-exec-noexec", p, r, st);

    /* --- the parent resumes at execve, before the child exits --- */
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old); /* inherited through vfork and exec */
    p = vfork();
    if (p == 0) {
        execl(self, self, "await-usr1", (char*)NULL);
        _exit(127);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* the exec'd child blocks until we signal it, so we must be running now */
    printf("resumed-while-exec-child-runs: %d\n", waitpid(p, &st, WNOHANG) == 0);
    kill(p, SIGUSR1);
    r = waitpid(p, &st, 0);
    show("vfork-exec-self", p, r, st);

    /* --- a vfork child killed by a signal --- */
    p = vfork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", "kill -TERM $$", (char*)NULL);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("vfork-exec-sh-kill-self", p, r, st);

    /* --- many in a row --- */
    static int ok, okmem, i;
    for (i = 0; i < 50; i++) {
        shared_word = 0;
        p = vfork();
        if (p == 0) {
            shared_word = i + 1;
            _exit(i);
        }
        r = waitpid(p, &st, 0);
        ok += r == p && WIFEXITED(st) && WEXITSTATUS(st) == i;
        okmem += shared_word == i + 1;
    }
    printf("vfork-50: exit-ok=%d memory-shared=%d\n", ok, okmem);

    errno = 0;
    r = wait(&st);
    printf("end: %s %s\n", rv(r), ename(errno));
    return 0;
}
