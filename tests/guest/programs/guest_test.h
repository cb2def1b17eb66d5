/* Helpers shared by the guest test programs (proc_*, sig2_*, ipc_*,
 * time_*): errno names, printable return values, wait-status lines, the
 * start-up signal reset, small fork helpers and raw syscall wrappers.
 * Include after the program's own includes; the program defines
 * _GNU_SOURCE first (strerrorname_np, sigabbrev_np). Every helper is
 * static and marked unused, so a program compiles the ones it calls. */
#ifndef UMK_GUEST_TEST_H
#define UMK_GUEST_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/ucontext.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUEST_HELPER static __attribute__((unused))

/* the errno name ("ENOENT"), "?" when there is none */
GUEST_HELPER const char* ename(int e)
{
    const char* n = strerrorname_np(e);
    return n ? n : "?";
}

/* start from default dispositions and an empty mask, whatever the caller
 * left us (a background shell job, for one, inherits SIGINT ignored) */
GUEST_HELPER void reset_signals(void)
{
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* a return value that may be a pid: printed as -1, 0 or "pid" */
GUEST_HELPER const char* rv(long r)
{
    return r > 0 ? "pid" : (r == 0 ? "0" : (r == -1 ? "-1" : "negative"));
}

/* "0", "5" or "-1 EINVAL": a result r with its errno e (see CALL); eight
 * rotating buffers, so one printf can show several */
GUEST_HELPER const char* res(long r, int e)
{
    static char buf[8][48];
    static int i;
    char* b = buf[i++ & 7];
    if (r < 0)
        snprintf(b, 48, "-1 %s", ename(e));
    else
        snprintf(b, 48, "%ld", r);
    return b;
}

/* run expr with errno cleared, keeping its result in r and errno in e */
#define CALL(expr) (errno = 0, r = (expr), e = errno)

/* "ok" for a 0 result, else the name of errno */
GUEST_HELPER const char* res_ok(int r)
{
    return r == 0 ? "ok" : ename(errno);
}

/* a wait status: "LABEL: exited N", "LABEL: killed by SIGNAME" or
 * "LABEL: status 0xST" */
GUEST_HELPER void show_status(const char* label, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by SIG%s\n", label, sigabbrev_np(WTERMSIG(st)));
    else
        printf("%s: status 0x%x\n", label, st);
}

/* what waiting for p gave (r, status st): show_status when r is p, else
 * one line from the format `mismatch`, which takes the label and a reason:
 * the errno name when r is -1, else `other` (each program keeps its own
 * wording) */
GUEST_HELPER void show_waited(const char* label, pid_t p, pid_t r, int st, const char* mismatch, const char* other)
{
    if (r != p)
        printf(mismatch, label, r == -1 ? ename(errno) : other);
    else
        show_status(label, st);
}

/* waitpid(p, &st, 0), then show_waited */
GUEST_HELPER void wait_and_show(const char* label, pid_t p, const char* mismatch, const char* other)
{
    int st = 0;
    pid_t r = waitpid(p, &st, 0);
    show_waited(label, p, r, st, mismatch, other);
}

/* a SIGCHLD / waitid si_code: "CLD_EXITED" ... "CLD_TRAPPED", "0" for 0,
 * else "other" */
GUEST_HELPER const char* cld_code_name(int code)
{
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    case CLD_TRAPPED: return "CLD_TRAPPED";
    case 0: return "0";
    default: return "other";
    }
}

/* fork a child that exits with code; returns its pid */
GUEST_HELPER pid_t child_exit(int code)
{
    pid_t p = fork();
    if (p == 0)
        _exit(code);
    return p;
}

/* fork a child that waits forever (until killed) */
GUEST_HELPER pid_t child_pause(void)
{
    pid_t p = fork();
    if (p == 0)
        for (;;)
            pause();
    return p;
}

/* a live process that is not our child: a grandchild, its pid passed up
 * through a shared page; returns the child (its parent) and the grandchild */
GUEST_HELPER void make_grandchild(pid_t* child, pid_t* grandchild)
{
    volatile pid_t* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shared = 0;
    pid_t c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0)
            for (;;)
                pause();
        *shared = g;
        int st;
        waitpid(g, &st, 0);
        _exit(0);
    }
    while (*shared == 0)
        sched_yield();
    *child = c;
    *grandchild = *shared;
    munmap((void*)shared, 4096);
}

/* raw gettid and tgkill */
/* A read that blocks and is interrupted: `read_one(fd, buf)` reads a byte
 * from an empty pipe a child writes "x" to after 300 ms, while a SIGALRM
 * handler (SA_RESTART with `restart`) runs after 100 ms. Prints what came
 * of it, with the rip the handler saw relative to `site`, and returns
 * what read_one returned. */
static volatile sig_atomic_t g_interrupted_alarms;
static long g_interrupted_rip;

GUEST_HELPER void interrupted_read_handler(int sig, siginfo_t* info, void* raw)
{
    (void)sig;
    (void)info;
    g_interrupted_rip = (long)((ucontext_t*)raw)->uc_mcontext.gregs[REG_RIP];
    g_interrupted_alarms++;
}

GUEST_HELPER long interrupted_read(long (*read_one)(int fd, char* buf), int restart, const void* site)
{
    char buf[1];
    int p[2];
    if (pipe(p) != 0)
        return -errno;
    struct sigaction sa = { 0 };
    sa.sa_sigaction = interrupted_read_handler;
    sa.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
    sigaction(SIGALRM, &sa, 0);
    pid_t writer = fork();
    if (writer == 0) {
        usleep(300000);
        (void)!write(p[1], "x", 1);
        _exit(0);
    }
    g_interrupted_alarms = 0;
    struct itimerval it = { { 0, 0 }, { 0, 100000 } };
    setitimer(ITIMER_REAL, &it, 0);
    long r = read_one(p[0], buf);
    waitpid(writer, 0, 0);
    signal(SIGALRM, SIG_DFL);
    close(p[0]);
    close(p[1]);
    long at = g_interrupted_rip - (long)site;
    if (restart)
        printf("restart: read %ld '%c', handler ran %d, at site + %ld\n", r, r == 1 ? buf[0] : '-',
               g_interrupted_alarms, at);
    else
        printf("no restart: read %s, handler ran %d, at site + %ld\n", r == -EINTR ? "EINTR" : "WRONG",
               g_interrupted_alarms, at);
    return r;
}

/* Six threads run `racer(&wrong)` (each stores its count of wrong
 * results there) while the code page at `page` is made writable and
 * executable again 40 times (which puts patched syscall sites back, to be
 * patched again): the total of wrong results. Needs -pthread. */
GUEST_HELPER long race_with_mprotect(void* (*racer)(void*), void* page)
{
    pthread_t t[6];
    long wrong[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], 0, racer, &wrong[i]);
    for (int i = 0; i < 40; i++) {
        usleep(500);
        mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
        usleep(200);
        mprotect(page, 4096, PROT_READ | PROT_EXEC);
    }
    long total = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], 0);
        total += wrong[i];
    }
    return total;
}

/* Running under umk: its kernel release ends in "umk" (uname -r). */
GUEST_HELPER int running_under_umk(void)
{
    struct utsname u;
    uname(&u);
    size_t len = strlen(u.release);
    return len >= 3 && strcmp(u.release + len - 3, "umk") == 0;
}

GUEST_HELPER pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

GUEST_HELPER int tgkill_(pid_t tgid, pid_t tid, int sig)
{
    return (int)syscall(SYS_tgkill, tgid, tid, sig);
}

/* A set-user-ID-root copy of this program at `path` (for tests that exec
 * a set-uid program; needs root). 0, or -1 when it could not be made. */
GUEST_HELPER int install_setuid_copy(const char* path)
{
    int in = open("/proc/self/exe", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0)
        return -1;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return -1;
    close(in);
    close(out);
    return chown(path, 0, 0) || chmod(path, 04755) ? -1 : 0;
}

#endif
