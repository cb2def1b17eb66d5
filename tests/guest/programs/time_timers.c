/* Timers and CPU time, compared with native; only facts that hold with any
 * reasonable timing are printed. POSIX timers: SIGEV_SIGNAL on
 * CLOCK_MONOTONIC (SI_TIMER, sigev_value), a periodic timer left blocked
 * (si_overrun > 0, timer_getoverrun agrees), SIGEV_THREAD_ID aimed at one
 * thread (raw syscalls), SIGEV_NONE counting down in timer_gettime, the
 * interval read back, TIMER_ABSTIME (not early; in the past: at once), a
 * CLOCK_PROCESS_CPUTIME_ID timer firing while spinning, disarming, errors
 * (bad clock, bad thread, use after timer_delete). Interval timers:
 * ITIMER_REAL one-shot and interval readback, the old value returned,
 * ITIMER_VIRTUAL not firing while asleep but firing while spinning,
 * ITIMER_PROF firing while spinning; alarm's return value rounding.
 * clock_getres, clock_nanosleep (TIMER_ABSTIME not early, past, bad clocks),
 * getrusage SELF growing with a spin, CHILDREN after a waited-for child
 * spun, wait4's rusage, and times(). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_test.h"

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

static int64_t ns_of(const struct timespec* t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t now_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return ns_of(&t);
}

static struct timespec ts_of(int64_t ns)
{
    struct timespec t = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    return t;
}

static int64_t tv_us(const struct timeval* t)
{
    return (int64_t)t->tv_sec * 1000000 + t->tv_usec;
}

/* burn CPU in user mode until this process has used `ms` more */
static volatile unsigned long sink;
static void spin_cpu_ms(int ms)
{
    int64_t end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + (int64_t)ms * 1000000;
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < end)
        for (int i = 0; i < 10000; i++)
            sink++;
}

static const char* code_name(int c)
{
    return c == SI_TIMER ? "SI_TIMER" : c == SI_USER ? "SI_USER" : c == SI_KERNEL ? "SI_KERNEL" : c == SI_TKILL ? "SI_TKILL" : "other";
}

/* --- POSIX timers --- */

static void posix_signal_timers(void)
{
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);

    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 77;
    timer_t t;
    int r = timer_create(CLOCK_MONOTONIC, &sev, &t);
    printf("timer_create monotonic: %d\n", r);
    struct itimerspec its = { { 0, 0 }, { 0, 20000000 } };
    int64_t start = now_ns(CLOCK_MONOTONIC);
    r = timer_settime(t, 0, &its, NULL);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int s = sigwaitinfo(&usr1, &si);
    int64_t waited = now_ns(CLOCK_MONOTONIC) - start;
    printf("one-shot 20ms: settime=%d signo_ok=%d code=%s value=%d overrun=%d not_early=%d\n", r, s == SIGUSR1, code_name(si.si_code),
        si.si_value.sival_int, si.si_overrun, waited >= 20000000);
    struct itimerspec cur;
    timer_gettime(t, &cur);
    printf("after firing: disarmed=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* periodic 1ms, left blocked for 30ms: overruns */
    struct itimerspec per = { { 0, 1000000 }, { 0, 1000000 } };
    timer_settime(t, 0, &per, NULL);
    struct timespec nap = { 0, 30000000 };
    nanosleep(&nap, NULL);
    memset(&si, 0, sizeof si);
    s = sigwaitinfo(&usr1, &si);
    int ov = timer_getoverrun(t);
    printf("periodic blocked 30ms: signo_ok=%d overrun>0=%d getoverrun==si_overrun=%d\n", s == SIGUSR1, si.si_overrun > 0,
        ov == si.si_overrun);
    /* interval read back, old value returned when disarming */
    struct itimerspec oldv;
    memset(&cur, 0, sizeof cur);
    timer_gettime(t, &cur);
    printf("periodic gettime: interval_ns=%ld value_in_(0,1ms]=%d\n", cur.it_interval.tv_nsec,
        cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 1000000);
    struct itimerspec zero;
    memset(&zero, 0, sizeof zero);
    timer_settime(t, 0, &zero, &oldv);
    printf("disarm: old interval_ns=%ld\n", oldv.it_interval.tv_nsec);
    /* drop a signal that may have been queued meanwhile */
    struct timespec z = { 0, 0 };
    while (sigtimedwait(&usr1, &si, &z) > 0) {
    }
    nanosleep(&(struct timespec) { 0, 5000000 }, NULL);
    errno = 0;
    s = sigtimedwait(&usr1, &si, &z);
    printf("disarmed timer is quiet: %d %s\n", s, ename(errno));

    /* absolute */
    int64_t target = now_ns(CLOCK_MONOTONIC) + 30000000;
    struct itimerspec absits = { { 0, 0 }, ts_of(target) };
    r = timer_settime(t, TIMER_ABSTIME, &absits, NULL);
    s = sigwaitinfo(&usr1, &si);
    printf("TIMER_ABSTIME +30ms: settime=%d fired=%d not_early=%d\n", r, s == SIGUSR1, now_ns(CLOCK_MONOTONIC) >= target);
    absits.it_value = ts_of(now_ns(CLOCK_MONOTONIC) - 1000000000);
    r = timer_settime(t, TIMER_ABSTIME, &absits, NULL);
    struct timespec lim = { 2, 0 };
    s = sigtimedwait(&usr1, &si, &lim);
    printf("TIMER_ABSTIME in the past: settime=%d fired=%d\n", r, s == SIGUSR1);
    /* a relative time is not absolute: 1s from now, not already past */
    absits.it_value = ts_of(1000000000);
    timer_settime(t, 0, &absits, NULL);
    timer_gettime(t, &cur);
    printf("relative 1s: remaining_in_(0.5s,1s]=%d\n", ns_of(&cur.it_value) > 500000000 && ns_of(&cur.it_value) <= 1000000000);
    r = timer_delete(t);
    printf("timer_delete: %d\n", r);

    /* bad arguments */
    timer_t bad;
    errno = 0;
    r = timer_create(12345, &sev, &bad);
    printf("timer_create bad clock: %d %s\n", r, ename(errno));
    sev.sigev_signo = 0;
    errno = 0;
    r = timer_create(CLOCK_MONOTONIC, &sev, &bad);
    printf("timer_create signo 0: %d %s\n", r, ename(errno));
    sev.sigev_signo = 65;
    errno = 0;
    r = timer_create(CLOCK_MONOTONIC, &sev, &bad);
    printf("timer_create signo 65: %d %s\n", r, ename(errno));
    sev.sigev_signo = SIGUSR1;
    sev.sigev_notify = 99;
    errno = 0;
    r = timer_create(CLOCK_MONOTONIC, &sev, &bad);
    printf("timer_create notify 99: %d %s\n", r, ename(errno));

    /* CPU-time clock: fires while we spin */
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 88;
    errno = 0;
    r = timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t);
    int create_errno = errno;
    struct itimerspec cpu = { { 0, 0 }, { 0, 20000000 } };
    if (r == 0)
        timer_settime(t, 0, &cpu, NULL);
    int fired = 0;
    int64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    memset(&si, 0, sizeof si);
    while (!fired && r == 0) {
        spin_cpu_ms(2);
        fired = sigtimedwait(&usr1, &si, &z) == SIGUSR1;
        if (now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0 > 2000000000LL)
            break;
    }
    printf("CLOCK_PROCESS_CPUTIME_ID timer: create=%d %s fired=%d value=%d cpu_used>=20ms=%d\n", r, r ? ename(create_errno) : "-",
        fired, si.si_value.sival_int, r ? -1 : now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0 >= 20000000);
    if (r == 0)
        timer_delete(t);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* --- SIGEV_THREAD_ID and SIGEV_NONE, raw syscalls --- */

static volatile pid_t target_tid;
static volatile int target_ready, target_got, handled_by_target, handled_value;

static void on_usr2(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)uc;
    handled_by_target = (pid_t)syscall(SYS_gettid) == target_tid;
    handled_value = si->si_value.sival_int;
    target_got = 1;
}

static void* target_thread(void* a)
{
    (void)a;
    target_tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&target_ready, 1, __ATOMIC_SEQ_CST);
    sigset_t none;
    sigemptyset(&none);
    while (!target_got)
        sigsuspend(&none);
    return NULL;
}

static void thread_id_and_none(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t th;
    pthread_create(&th, NULL, target_thread, NULL);
    while (!__atomic_load_n(&target_ready, __ATOMIC_SEQ_CST)) {
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR2;
    sev.sigev_value.sival_int = 99;
    sev._sigev_un._tid = target_tid;
    int id = -1;
    long r = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
    printf("SIGEV_THREAD_ID create: %ld\n", r);
    struct itimerspec its = { { 0, 0 }, { 0, 10000000 } };
    r = syscall(SYS_timer_settime, id, 0, &its, NULL);
    /* main keeps SIGUSR2 unblocked and spins: only the target may take it */
    int64_t end = now_ns(CLOCK_MONOTONIC) + 3000000000LL;
    while (!target_got && now_ns(CLOCK_MONOTONIC) < end) {
    }
    pthread_join(th, NULL);
    printf("SIGEV_THREAD_ID: settime=%ld handled=%d by target=%d value=%d\n", r, target_got, handled_by_target, handled_value);
    r = syscall(SYS_timer_delete, id);
    printf("timer_delete: %ld\n", r);
    errno = 0;
    r = syscall(SYS_timer_settime, id, 0, &its, NULL);
    printf("settime after delete: %ld %s\n", r, ename(errno));
    struct itimerspec cur;
    errno = 0;
    r = syscall(SYS_timer_gettime, id, &cur);
    printf("gettime after delete: %ld %s\n", r, ename(errno));
    errno = 0;
    r = syscall(SYS_timer_delete, id);
    printf("delete after delete: %ld %s\n", r, ename(errno));
    errno = 0;
    r = syscall(SYS_timer_getoverrun, id);
    printf("getoverrun after delete: %ld %s\n", r, ename(errno));
    /* a thread not in this process */
    sev._sigev_un._tid = 0x3ffffff0;
    errno = 0;
    r = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
    printf("SIGEV_THREAD_ID to a missing thread: %ld %s\n", r, ename(errno));
    signal(SIGUSR2, SIG_DFL);

    /* SIGEV_NONE: nothing delivered, gettime counts down */
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    r = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
    its.it_value.tv_sec = 10;
    its.it_value.tv_nsec = 0;
    its.it_interval.tv_sec = 0;
    its.it_interval.tv_nsec = 250000000;
    syscall(SYS_timer_settime, id, 0, &its, NULL);
    struct itimerspec a, b;
    syscall(SYS_timer_gettime, id, &a);
    nanosleep(&(struct timespec) { 0, 20000000 }, NULL);
    syscall(SYS_timer_gettime, id, &b);
    printf("SIGEV_NONE: create=%ld first_in_(9s,10s]=%d counted_down>=20ms=%d interval_ns=%ld\n", r,
        ns_of(&a.it_value) > 9000000000LL && ns_of(&a.it_value) <= 10000000000LL, ns_of(&a.it_value) - ns_of(&b.it_value) >= 20000000,
        b.it_interval.tv_nsec);
    /* an expired SIGEV_NONE periodic timer keeps counting its periods */
    its.it_value.tv_sec = 0;
    its.it_value.tv_nsec = 1000000;
    its.it_interval.tv_nsec = 100000000;
    syscall(SYS_timer_settime, id, 0, &its, NULL);
    nanosleep(&(struct timespec) { 0, 10000000 }, NULL);
    syscall(SYS_timer_gettime, id, &a);
    printf("SIGEV_NONE expired periodic: value_in_(0,100ms]=%d\n", ns_of(&a.it_value) > 0 && ns_of(&a.it_value) <= 100000000);
    syscall(SYS_timer_delete, id);
}

/* --- interval timers --- */

static volatile int vt_hits, prof_hits, alrm_hits;

static void on_sig(int s)
{
    if (s == SIGVTALRM)
        vt_hits++;
    else if (s == SIGPROF)
        prof_hits++;
    else if (s == SIGALRM)
        alrm_hits++;
}

static void itimers(void)
{
    signal(SIGALRM, on_sig);
    signal(SIGVTALRM, on_sig);
    signal(SIGPROF, on_sig);

    struct itimerval v = { { 0, 20000 }, { 0, 100000 } }, old, got;
    memset(&old, 0xff, sizeof old);
    alarm(10); /* afresh: the old value below is this */
    int r = setitimer(ITIMER_REAL, &v, &old);
    printf("ITIMER_REAL set: %d old is the alarm(10): value_in_(9s,10s]=%d interval=%ld\n", r,
        tv_us(&old.it_value) > 9000000 && tv_us(&old.it_value) <= 10000000, (long)tv_us(&old.it_interval));
    getitimer(ITIMER_REAL, &got);
    printf("ITIMER_REAL get: interval_us=%ld value_in_(0,100ms]=%d\n", (long)tv_us(&got.it_interval),
        tv_us(&got.it_value) > 0 && tv_us(&got.it_value) <= 100000);
    while (alrm_hits < 3)
        pause();
    memset(&v, 0, sizeof v);
    setitimer(ITIMER_REAL, &v, &old);
    printf("ITIMER_REAL: 3 ticks seen, old interval_us=%ld\n", (long)tv_us(&old.it_interval));
    getitimer(ITIMER_REAL, &got);
    printf("ITIMER_REAL disarmed: %d\n", tv_us(&got.it_value) == 0);

    /* VIRTUAL: user CPU time only, so not while asleep */
    struct itimerval vv = { { 0, 10000 }, { 0, 10000 } };
    setitimer(ITIMER_VIRTUAL, &vv, NULL);
    getitimer(ITIMER_VIRTUAL, &got);
    /* (Linux may read back up to a tick more than was set: only > 0) */
    printf("ITIMER_VIRTUAL get: interval_us=%ld value>0=%d\n", (long)tv_us(&got.it_interval), tv_us(&got.it_value) > 0);
    nanosleep(&(struct timespec) { 0, 50000000 }, NULL);
    printf("ITIMER_VIRTUAL while asleep 50ms: hits=%d\n", vt_hits);
    int64_t end = now_ns(CLOCK_MONOTONIC) + 3000000000LL;
    while (vt_hits < 2 && now_ns(CLOCK_MONOTONIC) < end)
        sink++;
    memset(&v, 0, sizeof v);
    setitimer(ITIMER_VIRTUAL, &v, NULL);
    printf("ITIMER_VIRTUAL while spinning: hits>=2=%d\n", vt_hits >= 2);

    struct itimerval pv = { { 0, 10000 }, { 0, 10000 } };
    setitimer(ITIMER_PROF, &pv, NULL);
    end = now_ns(CLOCK_MONOTONIC) + 3000000000LL;
    while (prof_hits < 2 && now_ns(CLOCK_MONOTONIC) < end)
        sink++;
    setitimer(ITIMER_PROF, &v, &old);
    printf("ITIMER_PROF while spinning: hits>=2=%d old_interval_us=%ld\n", prof_hits >= 2, (long)tv_us(&old.it_interval));
    errno = 0;
    r = setitimer(3, &v, NULL);
    printf("setitimer bad which: %d %s\n", r, ename(errno));
    v.it_value.tv_usec = 1000000;
    errno = 0;
    r = setitimer(ITIMER_REAL, &v, NULL);
    printf("setitimer tv_usec=1e6: %d %s\n", r, ename(errno));

    /* alarm's return: seconds left, rounded to nearest, never 0 if armed */
    struct itimerval a = { { 0, 0 }, { 1, 400000 } };
    setitimer(ITIMER_REAL, &a, NULL);
    printf("alarm after 1.4s set: %u\n", alarm(0));
    a.it_value.tv_usec = 750000;
    setitimer(ITIMER_REAL, &a, NULL);
    printf("alarm after 1.75s set: %u\n", alarm(0));
    a.it_value.tv_sec = 0;
    a.it_value.tv_usec = 300000;
    setitimer(ITIMER_REAL, &a, NULL);
    printf("alarm after 0.3s set: %u\n", alarm(0));
    alarm(7);
    printf("alarm(5) after alarm(7): %u\n", alarm(5));
    printf("alarm(0) after alarm(5): %u\n", alarm(0));
    printf("alarm(0) when none: %u\n", alarm(0));
    alarm(7);
    getitimer(ITIMER_REAL, &got);
    printf("alarm(7) seen by getitimer: value_in_(6s,7s]=%d interval=%ld\n",
        tv_us(&got.it_value) > 6000000 && tv_us(&got.it_value) <= 7000000, (long)tv_us(&got.it_interval));
    signal(SIGALRM, SIG_DFL);
    signal(SIGVTALRM, SIG_DFL);
    signal(SIGPROF, SIG_DFL);
    alarm(10);
}

/* --- clocks --- */

static void clocks(void)
{
    struct {
        const char* name;
        clockid_t id;
    } cs[] = {
        { "REALTIME", CLOCK_REALTIME },
        { "MONOTONIC", CLOCK_MONOTONIC },
        { "MONOTONIC_RAW", CLOCK_MONOTONIC_RAW },
        { "BOOTTIME", CLOCK_BOOTTIME },
        { "PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID },
        { "THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID },
    };
    for (unsigned i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        struct timespec res = { -1, -1 };
        int r = clock_getres(cs[i].id, &res);
        printf("clock_getres %s: %d res=%ld.%09ld\n", cs[i].name, r, (long)res.tv_sec, res.tv_nsec);
    }
    struct timespec res = { -1, -1 };
    int r = clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    printf("clock_getres MONOTONIC_COARSE: %d res_in_(0,20ms]=%d\n", r, res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 20000000);
    errno = 0;
    r = clock_getres(12345, &res);
    printf("clock_getres bad clock: %d %s\n", r, ename(errno));
    r = clock_getres(CLOCK_MONOTONIC, NULL);
    printf("clock_getres NULL: %d\n", r);

    int64_t target = now_ns(CLOCK_MONOTONIC) + 30000000;
    struct timespec t = ts_of(target);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    printf("clock_nanosleep abs +30ms: %d not_early=%d\n", r, now_ns(CLOCK_MONOTONIC) >= target);
    int64_t rt_target = now_ns(CLOCK_REALTIME) + 20000000;
    t = ts_of(rt_target);
    r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL);
    printf("clock_nanosleep realtime abs +20ms: %d not_early=%d\n", r, now_ns(CLOCK_REALTIME) >= rt_target);
    t = ts_of(now_ns(CLOCK_MONOTONIC) - 1000000000);
    int64_t before = now_ns(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    printf("clock_nanosleep abs in the past: %d quick=%d\n", r, now_ns(CLOCK_MONOTONIC) - before < 500000000);
    t.tv_sec = 0;
    t.tv_nsec = 10000000;
    before = now_ns(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL);
    printf("clock_nanosleep relative 10ms: %d not_early=%d\n", r, now_ns(CLOCK_MONOTONIC) - before >= 10000000);
    r = clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &t, NULL);
    printf("clock_nanosleep THREAD_CPUTIME_ID: %s\n", ename(r));
    r = clock_nanosleep(12345, 0, &t, NULL);
    printf("clock_nanosleep bad clock: %s\n", ename(r));
    t.tv_nsec = 1000000000;
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL);
    printf("clock_nanosleep tv_nsec=1e9: %s\n", ename(r));
}

/* --- CPU time accounting --- */

static void usage(void)
{
    struct rusage ch0;
    getrusage(RUSAGE_CHILDREN, &ch0);
    printf("RUSAGE_CHILDREN before any child: zero=%d\n", tv_us(&ch0.ru_utime) == 0 && tv_us(&ch0.ru_stime) == 0);

    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    struct tms t0, t1;
    clock_t c0 = times(&t0);
    spin_cpu_ms(60);
    getrusage(RUSAGE_SELF, &b);
    clock_t c1 = times(&t1);
    printf("RUSAGE_SELF after a 60ms spin: utime grew=%d utime+stime>=40ms=%d\n", tv_us(&b.ru_utime) > tv_us(&a.ru_utime),
        tv_us(&b.ru_utime) + tv_us(&b.ru_stime) - tv_us(&a.ru_utime) - tv_us(&a.ru_stime) >= 40000);
    printf("times after the spin: ticks_grew=%d utime_grew=%d clk_tck=%ld\n", c1 >= c0, t1.tms_utime + t1.tms_stime > t0.tms_utime + t0.tms_stime,
        sysconf(_SC_CLK_TCK));
    errno = 0;
    int r = getrusage(5, &a);
    printf("getrusage bad who: %d %s\n", r, ename(errno));
    r = getrusage(RUSAGE_THREAD, &a);
    printf("RUSAGE_THREAD: %d utime>0=%d\n", r, tv_us(&a.ru_utime) > 0);

    /* a child that spins 100ms */
    pid_t p = fork();
    if (p == 0) {
        spin_cpu_ms(100);
        _exit(0);
    }
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int st;
    pid_t w = wait4(p, &st, 0, &ru);
    printf("wait4 rusage: reaped=%d utime+stime>=60ms=%d\n", w == p, tv_us(&ru.ru_utime) + tv_us(&ru.ru_stime) >= 60000);
    struct rusage ch;
    getrusage(RUSAGE_CHILDREN, &ch);
    printf("RUSAGE_CHILDREN after it: utime>0=%d utime+stime>=60ms=%d\n", tv_us(&ch.ru_utime) > 0,
        tv_us(&ch.ru_utime) + tv_us(&ch.ru_stime) >= 60000);
    struct tms t2;
    times(&t2);
    printf("times: cutime+cstime>=6 ticks=%d\n", t2.tms_cutime + t2.tms_cstime >= 6);

    /* a child not waited for does not count yet */
    p = fork();
    if (p == 0) {
        spin_cpu_ms(30);
        _exit(0);
    }
    siginfo_t si;
    waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    struct rusage ch2;
    getrusage(RUSAGE_CHILDREN, &ch2);
    printf("zombie not reaped: children unchanged=%d\n", tv_us(&ch2.ru_utime) == tv_us(&ch.ru_utime) && tv_us(&ch2.ru_stime) == tv_us(&ch.ru_stime));
    waitpid(p, &st, 0);
    getrusage(RUSAGE_CHILDREN, &ch2);
    printf("after reaping: children grew=%d\n", tv_us(&ch2.ru_utime) + tv_us(&ch2.ru_stime) > tv_us(&ch.ru_utime) + tv_us(&ch.ru_stime));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    usage();
    posix_signal_timers();
    thread_id_and_none();
    itimers();
    clocks();
    return 0;
}
