/* Interrupted system calls and signal details, compared with native:
 * read on an empty pipe, wait4 and FUTEX_WAIT fail with EINTR under a
 * handler without SA_RESTART and are restarted with it (the handler makes
 * the restarted call finish); nanosleep, poll and a FUTEX_WAIT with a
 * timeout give EINTR even with SA_RESTART (nanosleep reports the time
 * left); sigsuspend's temporary mask (seen from the handler) and the mask
 * restored after; rt_sigtimedwait with a timeout (EAGAIN), a zero timeout,
 * a bad timeout (EINVAL), and the order pending signals are taken in;
 * SA_RESETHAND (default afterwards, the flag kept, the signal not blocked
 * inside) and SA_NODEFER (nesting order); siginfo from kill (SI_USER, pid,
 * uid), sigqueue (SI_QUEUE, si_value), tgkill (SI_TKILL), a child's kill
 * and its SIGCHLD (CLD_EXITED, status); real-time signals queued with their
 * values in order while standard ones coalesce. The interrupting signal is
 * SIGUSR2 from a repeating POSIX timer, so a tick that comes early is
 * followed by another while the call blocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_test.h"

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: %s\n", "other");
}

/* the interrupting signal: SIGUSR2 from a repeating POSIX timer (SIGALRM
 * stays free for the alarm(10) safety net) */
static timer_t tick_timer;

static void arm(void)
{
    struct itimerspec it = { { 0, 30000000 }, { 0, 30000000 } };
    timer_settime(tick_timer, 0, &it, NULL);
}

static void disarm(void)
{
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    timer_settime(tick_timer, 0, &it, NULL);
}

/* what the SIGUSR2 handler does to let a restarted call finish */
enum { ACT_NONE, ACT_WRITE_PIPE, ACT_KILL_CHILD, ACT_SET_WORD };
static volatile int action;
static volatile int ticks;
static int pipe_w;
static volatile pid_t victim;
static volatile uint32_t word;

static void on_tick(int s)
{
    (void)s;
    int saved = errno;
    /* at most 20 ticks a call: a kernel that wrongly restarts a call
     * forever (restarting its timeout too) then lets it finish */
    if (++ticks >= 20) {
        struct itimerspec off;
        memset(&off, 0, sizeof off);
        timer_settime(tick_timer, 0, &off, NULL);
    }
    if (action == ACT_WRITE_PIPE)
        (void)!write(pipe_w, "x", 1);
    else if (action == ACT_KILL_CHILD)
        kill(victim, SIGTERM);
    else if (action == ACT_SET_WORD)
        word = 1;
    errno = saved;
}

static void install_tick(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = flags;
    sigaction(SIGUSR2, &sa, NULL);
}

static long futex(volatile uint32_t* w, int op, uint32_t val, const struct timespec* ts)
{
    return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

static void drain(int fd)
{
    char buf[256];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    while (read(fd, buf, sizeof buf) > 0) {
    }
    fcntl(fd, F_SETFL, fl);
}

/* --- EINTR vs SA_RESTART --- */
static void restart_tests(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pipe_w = fds[1];
    char c = 0;
    long r;

    for (int restart = 0; restart <= 1; restart++) {
        const char* tag = restart ? "SA_RESTART" : "no SA_RESTART";
        install_tick(restart ? SA_RESTART : 0);

        /* read on an empty pipe */
        action = restart ? ACT_WRITE_PIPE : ACT_NONE;
        ticks = 0;
        arm();
        errno = 0;
        r = read(fds[0], &c, 1);
        int e = errno;
        disarm();
        action = ACT_NONE;
        printf("read, %s: r=%ld %s byte=%c ticked=%d\n", tag, r, r < 0 ? ename(e) : "-", r == 1 ? c : '-', ticks > 0);
        drain(fds[0]);

        /* wait4 for a child that waits for a signal */
        pid_t p = fork();
        if (p == 0) {
            for (;;)
                pause();
        }
        victim = p;
        action = restart ? ACT_KILL_CHILD : ACT_NONE;
        ticks = 0;
        arm();
        int st = 0;
        errno = 0;
        pid_t w = wait4(p, &st, 0, NULL);
        e = errno;
        disarm();
        action = ACT_NONE;
        if (w == -1) {
            printf("wait4, %s: -1 %s ticked=%d\n", tag, ename(e), ticks > 0);
            kill(p, SIGKILL);
            w = waitpid(p, &st, 0);
            show("  then after SIGKILL", p, w, st);
        } else {
            show(restart ? "wait4, SA_RESTART (handler kills the child)" : "wait4, no SA_RESTART", p, w, st);
        }

        /* FUTEX_WAIT without a timeout */
        word = 0;
        action = restart ? ACT_SET_WORD : ACT_NONE;
        ticks = 0;
        arm();
        errno = 0;
        r = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL);
        e = errno;
        disarm();
        action = ACT_NONE;
        printf("futex wait, %s: r=%ld %s word=%u ticked=%d\n", tag, r, r < 0 ? ename(e) : "-", word, ticks > 0);

        /* FUTEX_WAIT with a (long) timeout: EINTR either way */
        word = 0;
        ticks = 0;
        arm();
        errno = 0;
        struct timespec ts = { 2, 0 };
        r = futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts);
        e = errno;
        disarm();
        printf("futex wait with timeout, %s: r=%ld %s\n", tag, r, r < 0 ? ename(e) : "-");

        /* nanosleep: EINTR either way, with the time left */
        ticks = 0;
        arm();
        struct timespec req = { 5, 0 }, rem = { 0, 0 };
        errno = 0;
        r = nanosleep(&req, &rem);
        e = errno;
        disarm();
        printf("nanosleep, %s: r=%ld %s rem_in_(4s,5s)=%d\n", tag, r, r < 0 ? ename(e) : "-",
            rem.tv_sec == 4 && rem.tv_nsec > 0);

        /* poll: EINTR either way */
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        ticks = 0;
        arm();
        errno = 0;
        r = poll(&pfd, 1, 5000);
        e = errno;
        disarm();
        printf("poll, %s: r=%ld %s\n", tag, r, r < 0 ? ename(e) : "-");
    }
    close(fds[0]);
    close(fds[1]);
    signal(SIGUSR2, SIG_DFL);
}

/* --- sigsuspend --- */
static volatile int susp_hits, susp_usr1_blocked, susp_usr2_blocked, susp_term_blocked;

static void susp_handler(int s)
{
    (void)s;
    susp_hits++;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    susp_usr1_blocked = sigismember(&cur, SIGUSR1);
    susp_usr2_blocked = sigismember(&cur, SIGUSR2);
    susp_term_blocked = sigismember(&cur, SIGTERM);
}

static void sigsuspend_tests(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = susp_handler;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old, temp;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1); /* pending until sigsuspend */
    printf("sigsuspend: hits before=%d\n", susp_hits);
    sigemptyset(&temp);
    sigaddset(&temp, SIGTERM);
    errno = 0;
    int r = sigsuspend(&temp);
    printf("sigsuspend: r=%d %s hits=%d\n", r, ename(errno), susp_hits);
    printf("sigsuspend handler mask: usr1=%d usr2=%d term=%d\n", susp_usr1_blocked, susp_usr2_blocked, susp_term_blocked);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("sigsuspend mask after: usr1=%d usr2=%d term=%d\n", sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2), sigismember(&now, SIGTERM));
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
}

/* --- rt_sigtimedwait --- */
static void sigtimedwait_tests(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, &old);
    siginfo_t si;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    errno = 0;
    int r = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait 20ms: r=%d %s\n", r, ename(errno));
    ts.tv_nsec = 0;
    errno = 0;
    r = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait zero: r=%d %s\n", r, ename(errno));
    ts.tv_nsec = 1000000000;
    errno = 0;
    r = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait bad timeout: r=%d %s\n", r, ename(errno));
    /* raw syscall with the kernel sigset size */
    ts.tv_nsec = 1000000;
    errno = 0;
    long rr = syscall(SYS_rt_sigtimedwait, &set, &si, &ts, 8);
    printf("rt_sigtimedwait raw 1ms: r=%ld %s\n", rr, ename(errno));
    errno = 0;
    rr = syscall(SYS_rt_sigtimedwait, &set, &si, &ts, 4);
    printf("rt_sigtimedwait sigsetsize 4: r=%ld %s\n", rr, ename(errno));

    /* the order pending signals are taken in */
    union sigval v;
    v.sival_int = 301;
    sigqueue(getpid(), SIGRTMIN + 1, v);
    v.sival_int = 300;
    sigqueue(getpid(), SIGRTMIN, v);
    raise(SIGUSR2);
    v.sival_int = 77;
    sigqueue(getpid(), SIGUSR1, v);
    for (int i = 0; i < 4; i++) {
        memset(&si, 0, sizeof si);
        ts.tv_nsec = 0;
        r = sigtimedwait(&set, &si, &ts);
        const char* name = r == SIGUSR1 ? "USR1" : r == SIGUSR2 ? "USR2" : r == SIGRTMIN ? "RTMIN" : r == SIGRTMIN + 1 ? "RTMIN+1" : "?";
        printf("taken %d: %s code=%s value=%d pid_ok=%d\n", i, name,
            si.si_code == SI_QUEUE ? "SI_QUEUE" : si.si_code == SI_TKILL ? "SI_TKILL" : si.si_code == SI_USER ? "SI_USER" : "other",
            si.si_code == SI_QUEUE ? si.si_value.sival_int : -1, si.si_pid == getpid());
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* --- SA_RESETHAND, SA_NODEFER --- */
static volatile char trace[64];
static volatile int tlen;
static volatile int self_blocked_inside, depth, plain_hits;

static void tracer(int s)
{
    int me = ++depth;
    if (me == 1) {
        sigset_t cur;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        self_blocked_inside = sigismember(&cur, s);
    }
    trace[tlen++] = (char)('0' + me);
    if (me == 1)
        raise(s);
    trace[tlen++] = (char)('a' + me - 1);
}

static void plain(int s)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    self_blocked_inside = sigismember(&cur, s);
    plain_hits++;
}

static void reset_trace(void)
{
    depth = 0;
    tlen = 0;
    for (int i = 0; i < 64; i++)
        trace[i] = 0;
}

static void flag_tests(void)
{
    struct sigaction sa, now;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tracer;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGUSR2, NULL, &now);
    printf("SA_RESETHAND before: handler_set=%d resethand_flag=%d\n", now.sa_handler == tracer, (now.sa_flags & SA_RESETHAND) != 0);
    pid_t p = fork();
    if (p == 0) {
        /* the second raise inside the handler meets the default action */
        raise(SIGUSR2);
        _exit(0);
    }
    int st;
    pid_t w = waitpid(p, &st, 0);
    show("SA_RESETHAND re-raise inside the handler", p, w, st);

    /* in this process: a handler that does not re-raise */
    plain_hits = 0;
    sa.sa_handler = plain;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    sigaction(SIGUSR2, NULL, &now);
    printf("SA_RESETHAND: hits=%d self_blocked_inside=%d now_default=%d resethand_flag_kept=%d\n", plain_hits, self_blocked_inside,
        now.sa_handler == SIG_DFL, (now.sa_flags & SA_RESETHAND) != 0);
    signal(SIGUSR2, SIG_DFL);

    /* default: the signal is blocked inside its handler, the re-raise waits */
    sa.sa_handler = tracer;
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    reset_trace();
    raise(SIGUSR1);
    printf("no SA_NODEFER: trace=%s self_blocked_inside=%d\n", (const char*)trace, self_blocked_inside);
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGUSR1, &sa, NULL);
    reset_trace();
    raise(SIGUSR1);
    printf("SA_NODEFER: trace=%s self_blocked_inside=%d\n", (const char*)trace, self_blocked_inside);
    /* sa_mask still applies with SA_NODEFER */
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaction(SIGUSR1, &sa, NULL);
    reset_trace();
    raise(SIGUSR1);
    printf("SA_NODEFER with itself in sa_mask: trace=%s self_blocked_inside=%d\n", (const char*)trace, self_blocked_inside);
    signal(SIGUSR1, SIG_DFL);
}

/* --- siginfo contents --- */
static volatile int i_signo, i_code, i_pid_self, i_uid_ok, i_value, i_status, i_hits;
static volatile pid_t i_pid;

static void info_handler(int s, siginfo_t* si, void* uc)
{
    (void)uc;
    i_hits++;
    i_signo = s;
    i_code = si->si_code;
    i_pid = si->si_pid;
    i_pid_self = si->si_pid == getpid();
    i_uid_ok = si->si_uid == getuid();
    i_value = si->si_value.sival_int;
    i_status = si->si_status;
}

static const char* code_name(int c)
{
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    default: return "other";
    }
}

static void siginfo_tests(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGRTMIN, &sa, NULL);

    kill(getpid(), SIGUSR1);
    printf("kill: signo=%d code=%s pid_self=%d uid_ok=%d\n", i_signo, code_name(i_code), i_pid_self, i_uid_ok);
    union sigval v = { .sival_int = 1234 };
    sigqueue(getpid(), SIGUSR1, v);
    printf("sigqueue: code=%s value=%d pid_self=%d uid_ok=%d\n", code_name(i_code), i_value, i_pid_self, i_uid_ok);
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
    printf("tgkill: code=%s pid_self=%d uid_ok=%d\n", code_name(i_code), i_pid_self, i_uid_ok);
    syscall(SYS_tkill, (pid_t)syscall(SYS_gettid), SIGUSR1);
    printf("tkill: code=%s pid_self=%d\n", code_name(i_code), i_pid_self);
    raise(SIGUSR1);
    printf("raise: code=%s pid_self=%d\n", code_name(i_code), i_pid_self);

    /* from a child: the child's pid; then its SIGCHLD */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigaddset(&chld, SIGUSR1);
    sigprocmask(SIG_BLOCK, &chld, &old);
    pid_t p = fork();
    if (p == 0) {
        kill(getppid(), SIGUSR1);
        _exit(7);
    }
    int st;
    waitid(P_PID, p, NULL, WEXITED | WNOWAIT); /* still a zombie for the SIGCHLD check */
    siginfo_t si;
    struct timespec ts = { 5, 0 };
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    memset(&si, 0, sizeof si);
    int r = sigtimedwait(&one, &si, &ts);
    printf("from child: r=%s code=%s pid_is_child=%d\n", r == SIGUSR1 ? "SIGUSR1" : "?", code_name(si.si_code), si.si_pid == p);
    sigemptyset(&one);
    sigaddset(&one, SIGCHLD);
    memset(&si, 0, sizeof si);
    r = sigtimedwait(&one, &si, &ts);
    printf("SIGCHLD: r=%s code=%s pid_is_child=%d status=%d\n", r == SIGCHLD ? "SIGCHLD" : "?", code_name(si.si_code), si.si_pid == p, si.si_status);
    pid_t w = waitpid(p, &st, 0);
    show("child", p, w, st);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* real-time signals queue with their values; standard ones coalesce */
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGRTMIN);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, &old);
    static volatile int order[8];
    i_hits = 0;
    for (int k = 1; k <= 3; k++) {
        v.sival_int = k * 11;
        sigqueue(getpid(), SIGRTMIN, v);
        kill(getpid(), SIGUSR1);
    }
    sigset_t pend;
    sigpending(&pend);
    printf("pending: rtmin=%d usr1=%d\n", sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGUSR1));
    /* take them one at a time to see the values */
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
    int n = 0;
    while (n < 8 && sigtimedwait(&rt, &si, &ts) == SIGRTMIN)
        order[n++] = si.si_value.sival_int;
    printf("rt queued %d:", n);
    for (int k = 0; k < n; k++)
        printf(" %d", order[k]);
    printf("\n");
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("usr1 delivered on unblock: %d time(s)\n", i_hits);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGRTMIN, SIG_DFL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        signal(s, SIG_DFL);
    alarm(10);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR2;
    if (timer_create(CLOCK_MONOTONIC, &sev, &tick_timer) != 0) {
        printf("timer_create: %s\n", ename(errno));
        return 1;
    }
    restart_tests();
    timer_delete(tick_timer);
    sigsuspend_tests();
    sigtimedwait_tests();
    flag_tests();
    siginfo_tests();
    return 0;
}
