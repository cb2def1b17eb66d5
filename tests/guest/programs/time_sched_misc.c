/* Scheduling and process-control odds and ends, compared with native:
 * sched_getaffinity/setaffinity (pinned to the first allowed CPU, getcpu
 * agreeing, then the old mask back; empty and impossible masks EINVAL, a
 * too-small size EINVAL), getpriority/setpriority (nice 5 read back, back
 * again as root; EACCES lowering it after setuid(65534) in a child, raising
 * still allowed; bad which EINVAL, missing pid ESRCH), sched_getscheduler
 * (SCHED_OTHER), SCHED_BATCH and SCHED_IDLE and back, policy and nice
 * inherited over fork, SCHED_RESET_ON_FORK
 * (reported; a fork child keeps BATCH without the flag, its negative nice
 * back to 0), sched_getparam, priority ranges,
 * SCHED_FIFO refused to an unprivileged child, getcpu within the mask,
 * membarrier (QUERY has GLOBAL, GLOBAL works, PRIVATE_EXPEDITED needs
 * registering), personality (query, ADDR_NO_RANDOMIZE round trip),
 * pidfd_open (close-on-exec, poll not readable while alive, readable after
 * death), pidfd_send_signal (to a child and to ourselves with a siginfo),
 * waitid(P_PIDFD), clone3 with CLONE_PIDFD, prctl PR_SET_NAME/PR_GET_NAME
 * (truncated to 15 bytes) and PR_SET_CHILD_SUBREAPER (an orphaned
 * grandchild comes to us). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_test.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: %s\n", "other");
}

static int getcpu_(unsigned* cpu, unsigned* node)
{
    return (int)syscall(SYS_getcpu, cpu, node, NULL);
}

static void affinity(void)
{
    long r;
    int e;
    cpu_set_t orig, one, now;
    CPU_ZERO(&orig);
    CALL(sched_getaffinity(0, sizeof orig, &orig));
    int n = CPU_COUNT(&orig);
    printf("getaffinity: %s nonempty=%d\n", res(r, e), n > 0);
    int first = -1;
    for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
        if (CPU_ISSET(c, &orig))
            first = c;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CALL(sched_setaffinity(0, sizeof one, &one));
    printf("setaffinity to the first CPU: %s\n", res(r, e));
    CPU_ZERO(&now);
    sched_getaffinity(0, sizeof now, &now);
    unsigned cpu = 9999, node = 9999;
    int gr = getcpu_(&cpu, &node);
    printf("pinned: count=%d is_first=%d getcpu=%d on_it=%d sched_getcpu_agrees=%d\n", CPU_COUNT(&now), CPU_ISSET(first, &now), gr,
        (int)cpu == first, sched_getcpu() == first);
    CALL(sched_setaffinity(0, sizeof orig, &orig));
    CPU_ZERO(&now);
    sched_getaffinity(0, sizeof now, &now);
    printf("restored: %s equal=%d\n", res(r, e), CPU_EQUAL(&now, &orig));
    cpu = 9999;
    getcpu_(&cpu, &node);
    printf("getcpu in the mask: %d\n", cpu < CPU_SETSIZE && CPU_ISSET(cpu, &orig));

    cpu_set_t empty;
    CPU_ZERO(&empty);
    CALL(sched_setaffinity(0, sizeof empty, &empty));
    printf("setaffinity empty: %s\n", res(r, e));
    cpu_set_t far;
    CPU_ZERO(&far);
    CPU_SET(CPU_SETSIZE - 1, &far);
    CALL(sched_setaffinity(0, sizeof far, &far));
    printf("setaffinity only CPU %d: %s\n", CPU_SETSIZE - 1, res(r, e));
    unsigned char small[1];
    CALL(syscall(SYS_sched_getaffinity, 0, sizeof small, small));
    printf("getaffinity size 1: %s\n", res(r, e));
    unsigned long big[16];
    CALL(syscall(SYS_sched_getaffinity, 0, sizeof big, big));
    printf("getaffinity raw: returns a size>0 multiple of 8: %d\n", r > 0 && r % 8 == 0);
    CALL(sched_getaffinity(0x3ffffff0, sizeof now, &now));
    printf("getaffinity missing pid: %s\n", res(r, e));
    /* a child inherits the mask; it waits (alive) while we look at it */
    sched_setaffinity(0, sizeof one, &one);
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t p = fork();
    if (p == 0) {
        close(fds[1]);
        cpu_set_t c;
        CPU_ZERO(&c);
        sched_getaffinity(0, sizeof c, &c);
        char b;
        (void)!read(fds[0], &b, 1);
        _exit(CPU_COUNT(&c) == 1 && CPU_ISSET(first, &c) ? 0 : 1);
    }
    close(fds[0]);
    CPU_ZERO(&now);
    CALL(sched_getaffinity(p, sizeof now, &now));
    printf("getaffinity of the child: %s is_first=%d\n", res(r, e), CPU_COUNT(&now) == 1 && CPU_ISSET(first, &now));
    close(fds[1]);
    int st;
    pid_t w = waitpid(p, &st, 0);
    show("child inherits the pinned mask (0)", p, w, st);
    sched_setaffinity(0, sizeof orig, &orig);
}

static void priorities(void)
{
    long r;
    int e;
    errno = 0;
    int orig = getpriority(PRIO_PROCESS, 0);
    int oe = errno;
    printf("getpriority: errno=%s\n", ename(oe));
    CALL(setpriority(PRIO_PROCESS, 0, 5));
    printf("setpriority 5: %s\n", res(r, e));
    CALL(getpriority(PRIO_PROCESS, 0));
    printf("getpriority: %s\n", res(r, e));
    CALL(getpriority(PRIO_PROCESS, getpid()));
    printf("getpriority by pid: %s\n", res(r, e));
    CALL(setpriority(PRIO_PROCESS, 0, 100));
    printf("setpriority 100 (clamped): %s\n", res(r, e));
    CALL(getpriority(PRIO_PROCESS, 0));
    printf("getpriority: %s\n", res(r, e));
    CALL(setpriority(PRIO_PROCESS, 0, orig));
    printf("setpriority back (root may lower it): %s restored=%d\n", res(r, e), getpriority(PRIO_PROCESS, 0) == orig);
    CALL(setpriority(99, 0, 0));
    printf("setpriority bad which: %s\n", res(r, e));
    CALL(getpriority(99, 0));
    printf("getpriority bad which: %s\n", res(r, e));
    CALL(getpriority(PRIO_PROCESS, 0x3ffffff0));
    printf("getpriority missing pid: %s\n", res(r, e));
    CALL(setpriority(PRIO_PROCESS, 0x3ffffff0, 1));
    printf("setpriority missing pid: %s\n", res(r, e));

    /* unprivileged: may raise, not lower */
    pid_t p = fork();
    if (p == 0) {
        setpriority(PRIO_PROCESS, 0, 10);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(90);
        errno = 0;
        long a = setpriority(PRIO_PROCESS, 0, 9);
        int ae = errno;
        long b = setpriority(PRIO_PROCESS, 0, 12);
        errno = 0;
        int now = getpriority(PRIO_PROCESS, 0);
        struct sched_param sp = { .sched_priority = 1 };
        errno = 0;
        long c = sched_setscheduler(0, SCHED_FIFO, &sp);
        int ce = errno;
        printf("unprivileged: lower to 9: %s, raise to 12: %s, now %d, SCHED_FIFO: %s\n", res(a, ae), res(b, 0), now, res(c, ce));
        _exit(0);
    }
    int st;
    pid_t w = waitpid(p, &st, 0);
    show("unprivileged child", p, w, st);
}

static const char* pol(int p)
{
    switch (p & ~SCHED_RESET_ON_FORK) {
    case SCHED_OTHER: return (p & SCHED_RESET_ON_FORK) ? "OTHER|RESET_ON_FORK" : "OTHER";
    case SCHED_FIFO: return "FIFO";
    case SCHED_RR: return "RR";
    case SCHED_BATCH: return (p & SCHED_RESET_ON_FORK) ? "BATCH|RESET_ON_FORK" : "BATCH";
    case SCHED_IDLE: return "IDLE";
    default: return "?";
    }
}

static void policies(void)
{
    long r;
    int e;
    int p0 = sched_getscheduler(0);
    printf("sched_getscheduler: %s\n", p0 < 0 ? ename(errno) : pol(p0));
    struct sched_param sp = { .sched_priority = 0 };
    CALL(sched_getparam(0, &sp));
    printf("sched_getparam: %s priority=%d\n", res(r, e), sp.sched_priority);
    sp.sched_priority = 0;
    CALL(sched_setscheduler(0, SCHED_BATCH, &sp));
    printf("set SCHED_BATCH: %s now %s\n", res(r, e), pol(sched_getscheduler(0)));
    CALL(sched_setscheduler(0, SCHED_IDLE, &sp));
    printf("set SCHED_IDLE: %s now %s\n", res(r, e), pol(sched_getscheduler(0)));
    CALL(sched_setscheduler(0, SCHED_OTHER, &sp));
    printf("set SCHED_OTHER: %s now %s\n", res(r, e), pol(sched_getscheduler(0)));
    sp.sched_priority = 1;
    CALL(sched_setscheduler(0, SCHED_BATCH, &sp));
    printf("SCHED_BATCH with priority 1: %s\n", res(r, e));
    sp.sched_priority = 0;
    CALL(sched_setscheduler(0, 77, &sp));
    printf("bad policy: %s\n", res(r, e));
    CALL(sched_setscheduler(0, SCHED_BATCH, NULL));
    printf("NULL param: %s\n", res(r, e));
    CALL(sched_getscheduler(0x3ffffff0));
    printf("getscheduler missing pid: %s\n", res(r, e));
    /* inherited over fork: policy and nice */
    int nice0 = getpriority(PRIO_PROCESS, 0);
    setpriority(PRIO_PROCESS, 0, 4);
    sched_setscheduler(0, SCHED_BATCH, &sp);
    pid_t p = fork();
    if (p == 0)
        _exit(sched_getscheduler(0) * 10 + (getpriority(PRIO_PROCESS, 0) == 4));
    int st;
    pid_t w = waitpid(p, &st, 0);
    show("fork child inherits BATCH and nice 4 (31)", p, w, st);
    sched_setscheduler(0, SCHED_OTHER, &sp);

    /* reset-on-fork: a non-RT policy stays, a negative nice goes back to
     * 0, the flag is cleared in the child */
    setpriority(PRIO_PROCESS, 0, -3);
    CALL(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &sp));
    printf("set SCHED_BATCH|RESET_ON_FORK: %s now %s\n", res(r, e), pol(sched_getscheduler(0)));
    p = fork();
    if (p == 0) {
        errno = 0;
        int nc = getpriority(PRIO_PROCESS, 0);
        _exit(sched_getscheduler(0) * 10 + (nc == 0 && errno == 0));
    }
    w = waitpid(p, &st, 0);
    show("fork child: BATCH without the flag, nice 0 (31)", p, w, st);
    printf("parent keeps: %s nice=%d\n", pol(sched_getscheduler(0)), getpriority(PRIO_PROCESS, 0));
    sched_setscheduler(0, SCHED_OTHER, &sp);
    setpriority(PRIO_PROCESS, 0, nice0);
    printf("back: %s nice restored=%d\n", pol(sched_getscheduler(0)), getpriority(PRIO_PROCESS, 0) == nice0);

    struct {
        const char* name;
        int p;
    } ps[] = { { "OTHER", SCHED_OTHER }, { "FIFO", SCHED_FIFO }, { "RR", SCHED_RR }, { "BATCH", SCHED_BATCH }, { "IDLE", SCHED_IDLE },
        { "77", 77 } };
    for (unsigned i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        errno = 0;
        int mx = sched_get_priority_max(ps[i].p);
        int xe = errno;
        errno = 0;
        int mn = sched_get_priority_min(ps[i].p);
        int ne = errno;
        printf("priority range %s: max %s min %s\n", ps[i].name, res(mx, xe), res(mn, ne));
    }
    struct timespec q = { -1, -1 };
    CALL(sched_rr_get_interval(0, &q));
    printf("sched_rr_get_interval: %s sane=%d\n", res(r, e), q.tv_sec >= 0 && q.tv_nsec >= 0 && q.tv_nsec < 1000000000);
    CALL(sched_yield());
    printf("sched_yield: %s\n", res(r, e));
}

static void membarrier_personality(void)
{
    long r;
    int e;
    CALL(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0));
    printf("membarrier QUERY: ok=%d has GLOBAL=%d has PRIVATE_EXPEDITED=%d\n", r >= 0, r >= 0 && (r & MEMBARRIER_CMD_GLOBAL),
        r >= 0 && (r & MEMBARRIER_CMD_PRIVATE_EXPEDITED));
    CALL(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0));
    printf("membarrier GLOBAL: %s\n", res(r, e));
    CALL(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
    printf("membarrier PRIVATE_EXPEDITED unregistered: %s\n", res(r, e));
    CALL(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
    printf("membarrier REGISTER_PRIVATE_EXPEDITED: %s\n", res(r, e));
    CALL(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
    printf("membarrier PRIVATE_EXPEDITED registered: %s\n", res(r, e));
    CALL(syscall(SYS_membarrier, 1 << 20, 0, 0));
    printf("membarrier bad cmd: %s\n", res(r, e));
    CALL(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 1, 0));
    printf("membarrier QUERY with flags: %s\n", res(r, e));

    int cur = personality(0xffffffff);
    printf("personality query: 0x%x\n", cur);
    int old = personality(cur | ADDR_NO_RANDOMIZE);
    int now = personality(0xffffffff);
    printf("personality ADDR_NO_RANDOMIZE: old=0x%x now=0x%x\n", old, now);
    pid_t p = fork();
    if (p == 0)
        _exit(personality(0xffffffff) == (cur | ADDR_NO_RANDOMIZE) ? 0 : 1);
    int st;
    pid_t w = waitpid(p, &st, 0);
    show("fork child inherits the personality (0)", p, w, st);
    old = personality(cur);
    printf("personality back: old=0x%x now=0x%x\n", old, personality(0xffffffff));
}

static volatile int self_hits, self_code, self_value;

static void on_usr1(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)uc;
    self_hits++;
    self_code = si->si_code;
    self_value = si->si_value.sival_int;
}

struct clone_args_ {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static void pidfds(void)
{
    long r;
    int e;
    pid_t p = fork();
    if (p == 0) {
        for (;;)
            pause();
    }
    int fd;
    CALL(fd = (int)syscall(SYS_pidfd_open, p, 0));
    printf("pidfd_open: ok=%d cloexec=%d\n", fd >= 0, fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    CALL(poll(&pfd, 1, 0));
    printf("poll while alive: %s\n", res(r, e));
    CALL(syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
    printf("pidfd_send_signal SIGTERM: %s\n", res(r, e));
    CALL(poll(&pfd, 1, 5000));
    printf("poll after: %s revents_POLLIN=%d\n", res(r, e), (pfd.revents & POLLIN) != 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CALL(waitid(P_PIDFD, fd, &si, WEXITED));
    printf("waitid P_PIDFD: %s code=%s status=SIG%s pid_ok=%d\n", res(r, e), si.si_code == CLD_KILLED ? "CLD_KILLED" : "other",
        sigabbrev_np(si.si_status) ? sigabbrev_np(si.si_status) : "?", si.si_pid == p);
    CALL(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG));
    printf("waitid P_PIDFD again: %s\n", res(r, e));
    CALL(syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
    printf("pidfd_send_signal to the reaped: %s\n", res(r, e));
    close(fd);

    CALL(syscall(SYS_pidfd_open, 0x3ffffff0, 0));
    printf("pidfd_open missing pid: %s\n", res(r, e));
    CALL(syscall(SYS_pidfd_open, getpid(), 0x1));
    printf("pidfd_open bad flags: %s\n", res(r, e));
    CALL(syscall(SYS_pidfd_open, 0, 0));
    printf("pidfd_open pid 0: %s\n", res(r, e));
    CALL(syscall(SYS_pidfd_send_signal, 0, SIGTERM, NULL, 0));
    printf("pidfd_send_signal on stdin: %s\n", res(r, e));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    CALL(syscall(SYS_pidfd_send_signal, self, SIGUSR1, NULL, 0));
    printf("pidfd_send_signal to self: %s hits=%d code=%s\n", res(r, e), self_hits, self_code == SI_USER ? "SI_USER" : "other");
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 4242;
    CALL(syscall(SYS_pidfd_send_signal, self, SIGUSR1, &si, 0));
    printf("pidfd_send_signal with siginfo: %s hits=%d code=%s value=%d\n", res(r, e), self_hits,
        self_code == SI_QUEUE ? "SI_QUEUE" : "other", self_value);
    si.si_signo = SIGUSR2;
    CALL(syscall(SYS_pidfd_send_signal, self, SIGUSR1, &si, 0));
    printf("pidfd_send_signal signo mismatch: %s\n", res(r, e));
    CALL(syscall(SYS_pidfd_send_signal, self, SIGUSR1, NULL, 1 << 10));
    printf("pidfd_send_signal bad flags: %s\n", res(r, e));
    CALL(poll(&(struct pollfd) { .fd = self, .events = POLLIN }, 1, 0));
    printf("poll own pidfd: %s\n", res(r, e));
    close(self);
    signal(SIGUSR1, SIG_DFL);

    /* clone3 with CLONE_PIDFD */
    int cfd = -1;
    struct clone_args_ ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&cfd;
    ca.exit_signal = SIGCHLD;
    errno = 0;
    long c = syscall(SYS_clone3, &ca, 64);
    if (c == 0)
        _exit(9);
    e = errno;
    printf("clone3 CLONE_PIDFD: %s pidfd_ok=%d\n", c > 0 ? "pid" : res(c, e), cfd >= 0);
    if (c > 0) {
        printf("clone3 pidfd cloexec=%d\n", (fcntl(cfd, F_GETFD) & FD_CLOEXEC) != 0);
        pfd.fd = cfd;
        pfd.revents = 0;
        CALL(poll(&pfd, 1, 5000));
        printf("clone3 poll: %s\n", res(r, e));
        memset(&si, 0, sizeof si);
        CALL(waitid(P_PIDFD, cfd, &si, WEXITED));
        printf("clone3 waitid: %s code=%s status=%d pid_ok=%d\n", res(r, e), si.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
            si.si_status, si.si_pid == c);
        close(cfd);
    }
    CALL(syscall(SYS_clone3, &ca, 8));
    printf("clone3 size 8: %s\n", res(r, e));
    ca.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
    ca.parent_tid = ca.pidfd;
    CALL(syscall(SYS_clone3, &ca, 64));
    if (r == 0)
        _exit(0);
    printf("clone3 CLONE_PIDFD with parent_tid at the same place: %s\n", r > 0 ? "pid" : res(r, e));
    if (r > 0)
        waitpid((pid_t)r, NULL, 0);
}

static void prctls(void)
{
    long r;
    int e;
    char name[32];
    CALL(prctl(PR_SET_NAME, "umk-sched-misc-long-name", 0, 0, 0));
    memset(name, 'x', sizeof name);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("PR_SET_NAME: %s PR_GET_NAME=\"%s\" len=%zu\n", res(r, e), name, strnlen(name, sizeof name));
    prctl(PR_SET_NAME, "short", 0, 0, 0);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("PR_GET_NAME after a short name: \"%s\"\n", name);

    int v = -1;
    CALL(prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0));
    printf("PR_GET_CHILD_SUBREAPER initially: %s value=%d\n", res(r, e), v);
    CALL(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    v = -1;
    prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
    printf("PR_SET_CHILD_SUBREAPER 1: %s value=%d\n", res(r, e), v);
    pid_t me = getpid();
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t mid = fork();
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) {
            close(fds[0]);
            pid_t first = getppid();
            (void)first;
            /* wait until the middle process is gone */
            int tries = 0;
            while (getppid() != me && tries++ < 5000) {
                struct timespec ts = { 0, 1000000 };
                nanosleep(&ts, NULL);
            }
            char c = getppid() == me ? 'Y' : 'N';
            (void)!write(fds[1], &c, 1);
            _exit(33);
        }
        _exit(0);
    }
    close(fds[1]);
    int st;
    pid_t w = waitpid(mid, &st, 0);
    show("middle process", mid, w, st);
    char c = '?';
    (void)!read(fds[0], &c, 1);
    close(fds[0]);
    printf("grandchild reparented to us: %c\n", c);
    w = waitpid(-1, &st, 0);
    show("grandchild reaped by the subreaper", w > 0 ? w : -2, w, st);
    CALL(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0));
    v = -1;
    prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
    printf("PR_SET_CHILD_SUBREAPER 0: %s value=%d\n", res(r, e), v);
    CALL(prctl(9999, 0, 0, 0, 0));
    printf("prctl bad option: %s\n", res(r, e));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    affinity();
    priorities();
    policies();
    membarrier_personality();
    pidfds();
    prctls();
    return 0;
}
