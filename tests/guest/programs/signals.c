/* Signal delivery, compared with native: handlers with siginfo, masks and
 * pending sets, SA_RESETHAND/SA_NODEFER/SA_RESTART-free EINTR, the
 * alternate stack, FPU state kept across a handler, faults caught with
 * siglongjmp, alarm and interval timers interrupting a busy loop (the
 * kernel must stop running guest code), pause, sigsuspend, sigtimedwait,
 * an interrupted nanosleep, and rt_sigqueueinfo's value. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits, nested, last_signo, last_code, last_value, pid_ok, on_alt;
static char altstack[65536];
static sigjmp_buf env;

static void handler(int signo, siginfo_t* si, void* uc)
{
    (void)uc;
    hits++;
    last_signo = signo;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
    pid_ok = si->si_pid == getpid();
    char probe;
    on_alt = (char*)&probe >= altstack && (char*)&probe < altstack + sizeof altstack;
}

static void reentrant(int signo)
{
    if (nested++ == 0)
        raise(signo); /* with SA_NODEFER this nests at once */
}

static void fault(int signo, siginfo_t* si, void* uc)
{
    (void)uc;
    printf("fault signo=%d code=%d addr_is_null=%d\n", signo, si->si_code, si->si_addr == NULL);
    siglongjmp(env, 1);
}

static void fpu_clobber(int signo)
{
    (void)signo;
    volatile double x = 1.0;
    for (int i = 0; i < 10; i++)
        x = x * 3.7 + 0.1;
}

static void install(int signo, void (*fn)(int, siginfo_t*, void*), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(signo, &sa, NULL);
}

static void install_plain(int signo, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(signo, &sa, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);

    install(SIGUSR1, handler, 0);
    raise(SIGUSR1);
    printf("raise: hits=%d signo=%d code=%d pid_ok=%d\n", hits, last_signo, last_code, pid_ok);
    kill(getpid(), SIGUSR1);
    printf("kill: hits=%d code=%d\n", hits, last_code);

    sigset_t set, pending, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    sigpending(&pending);
    printf("blocked: hits=%d pending=%d\n", hits, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: hits=%d\n", hits);

    install(SIGUSR2, handler, SA_RESETHAND);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    printf("resethand: hits=%d default_now=%d\n", hits, now.sa_handler == SIG_DFL);

    install_plain(SIGUSR2, reentrant, SA_NODEFER);
    raise(SIGUSR2);
    printf("nodefer: nested=%d\n", nested);

    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    install(SIGUSR1, handler, SA_ONSTACK);
    raise(SIGUSR1);
    printf("altstack: on_alt=%d\n", on_alt);
    install(SIGUSR1, handler, 0);
    raise(SIGUSR1);
    printf("no SA_ONSTACK: on_alt=%d\n", on_alt);

    install_plain(SIGUSR2, fpu_clobber, 0);
    volatile double keep = 2.5;
    double before = keep * 1.5;
    raise(SIGUSR2);
    printf("fpu: %.3f %.3f\n", before, keep * 1.5);

    install(SIGSEGV, fault, 0);
    if (sigsetjmp(env, 1) == 0)
        *(volatile int*)0 = 1;
    install(SIGFPE, fault, 0);
    if (sigsetjmp(env, 1) == 0) {
        int quotient = 1, zero = 0;
        __asm__ volatile("cltd; idivl %2" : "+a"(quotient) : "a"(quotient), "r"(zero) : "rdx");
        printf("no SIGFPE: %d\n", quotient);
    }

    /* a busy loop: only an interrupt of running guest code ends it */
    install(SIGALRM, handler, 0);
    hits = 0;
    alarm(1);
    while (!hits) {
    }
    printf("alarm: signo=%d code=%d\n", last_signo, last_code);

    struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
    hits = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    while (hits < 5) {
    }
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    struct itimerval got;
    getitimer(ITIMER_REAL, &got);
    printf("itimer: ticks>=5 disarmed=%d\n", got.it_value.tv_sec == 0 && got.it_value.tv_usec == 0);

    hits = 0;
    alarm(1);
    int r = pause();
    printf("pause: r=%d errno=%d hits=%d\n", r, errno, hits);

    sigprocmask(SIG_BLOCK, &set, &old);
    alarm(1);
    sigset_t wait_mask;
    sigfillset(&wait_mask);
    sigdelset(&wait_mask, SIGALRM);
    hits = 0;
    r = sigsuspend(&wait_mask);
    printf("sigsuspend: r=%d errno=%d hits=%d\n", r, errno, hits);
    raise(SIGUSR1);
    siginfo_t info;
    struct timespec ts = { 1, 0 };
    r = sigtimedwait(&set, &info, &ts);
    printf("sigtimedwait: r=%d code=%d\n", r, info.si_code);
    r = sigtimedwait(&set, &info, &(struct timespec) { 0, 10000000 });
    printf("sigtimedwait timeout: r=%d errno=%d\n", r, errno);
    sigprocmask(SIG_SETMASK, &old, NULL);

    alarm(1);
    struct timespec req = { 30, 0 }, rem = { 0, 0 };
    r = nanosleep(&req, &rem);
    printf("nanosleep: r=%d errno=%d remaining_ok=%d\n", r, errno, rem.tv_sec > 25 && rem.tv_sec < 30);

    siginfo_t q;
    memset(&q, 0, sizeof q);
    q.si_code = SI_QUEUE;
    q.si_pid = getpid();
    q.si_value.sival_int = 42;
    syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &q);
    printf("sigqueueinfo: code=%d value=%d\n", last_code, last_value);

    signal(SIGTERM, SIG_IGN);
    raise(SIGTERM);
    printf("ignored SIGTERM: still here\n");
    return 0;
}
