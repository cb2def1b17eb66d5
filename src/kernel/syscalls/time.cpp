// Clocks and sleeping. Linux: kernel/time/posix-timers.c, hrtimer.c.
#include "kernel/syscalls/handlers.h"

#include <chrono>

#include <time.h>

namespace umk::kernel {

namespace {

bool valid_clock(int id)
{
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
    case CLOCK_TAI:
        return true;
    }
    return false;
}

// CPU-time clocks: CLOCK_PROCESS/THREAD_CPUTIME_ID and the clock ids
// clock_getcpuclockid(3) makes (Linux's MAKE_PROCESS_CPUCLOCK: ~pid << 3,
// bit 2 for a thread, the low bits PROF/VIRT/SCHED). A thread's clock is
// its host thread's and task thread's CPU time (the process's where the
// host does not show it).
bool cpu_clock(int id) { return id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID || id < 0; }

// The process a CPU clock id measures.
KResult<RefPtr<Process>> cpu_clock_process(Thread& t, int id)
{
    if (id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID)
        return RefPtr<Process>(&t.process());
    if ((id & 3) == 3)
        return err(Errno::INVAL); // CPUCLOCK_MAX
    int pid = ~(id >> 3);
    bool thread = id & 4;
    if (pid == 0)
        return RefPtr<Process>(&t.process());
    auto p = thread ? t.kernel().find_thread_group(pid) : t.kernel().find_process(pid);
    if (!p || (thread && p.get() != &t.process()))
        return err(Errno::INVAL);
    return p;
}

// A thread clock's thread: the caller, or another of its process.
KResult<std::optional<platform::CpuUsage>> thread_clock_usage(Thread& t, int id)
{
    if (id == CLOCK_THREAD_CPUTIME_ID || ~(id >> 3) == 0)
        return t.cpu_usage();
    std::lock_guard lock(t.process().signal_lock()); // keeps the thread listed
    Thread* other = t.process().find_thread_locked(~(id >> 3));
    if (!other)
        return err(Errno::INVAL);
    return other->cpu_usage();
}

KResult<abi::Timespec> cpu_clock_now(Thread& t, int id)
{
    auto p = TRY(cpu_clock_process(t, id));
    std::optional<platform::CpuUsage> thread;
    if (id == CLOCK_THREAD_CPUTIME_ID || (id < 0 && (id & 4)))
        thread = TRY(thread_clock_usage(t, id));
    auto u = thread ? *thread : p->cpu_usage();
    u64 ns = (id < 0 && (id & 3) == 1) ? u.user_ns : u.user_ns + u.system_ns; // CPUCLOCK_VIRT: user only
    return abi::Timespec { static_cast<i64>(ns / 1000000000), static_cast<i64>(ns % 1000000000) };
}

KResult<abi::Timespec> copy_in_timespec(Thread& t, GuestAddr addr)
{
    auto ts = TRY(copy_in<abi::Timespec>(t, addr.value));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return err(Errno::INVAL);
    return ts;
}

} // namespace

KResult<u64> sys_clock_gettime(Thread& t, int id, GuestAddr out)
{
    if (!valid_clock(id) && !cpu_clock(id))
        return err(Errno::INVAL);
    if (cpu_clock(id)) {
        TRY(copy_out(t, out.value, TRY(cpu_clock_now(t, id))));
        return 0;
    }
    timespec ts {};
    clock_gettime(id, &ts);
    TRY(copy_out(t, out.value, abi::Timespec { ts.tv_sec, ts.tv_nsec }));
    return 0;
}

KResult<u64> sys_clock_getres(Thread& t, int id, GuestAddr out)
{
    if (!valid_clock(id) && !cpu_clock(id))
        return err(Errno::INVAL);
    if (cpu_clock(id))
        TRY(cpu_clock_process(t, id));
    timespec ts {};
    clock_getres(cpu_clock(id) ? CLOCK_PROCESS_CPUTIME_ID : id, &ts);
    if (!out.null())
        TRY(copy_out(t, out.value, abi::Timespec { ts.tv_sec, ts.tv_nsec }));
    return 0;
}

KResult<u64> sys_gettimeofday(Thread& t, GuestAddr tv, GuestAddr tz)
{
    timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!tv.null())
        TRY(copy_out(t, tv.value, abi::Timeval { ts.tv_sec, ts.tv_nsec / 1000 }));
    if (!tz.null())
        TRY(copy_out(t, tz.value, u64 { 0 }));
    return 0;
}

KResult<u64> sys_time(Thread& t, GuestAddr out)
{
    i64 now = ::time(nullptr);
    if (!out.null())
        TRY(copy_out(t, out.value, now));
    return static_cast<u64>(now);
}

namespace {

using Steady = std::chrono::steady_clock;

std::chrono::nanoseconds to_duration(const abi::Timespec& ts)
{
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

abi::Timespec to_timespec(std::chrono::nanoseconds d)
{
    if (d.count() < 0)
        d = {};
    auto s = std::chrono::duration_cast<std::chrono::seconds>(d);
    return { s.count(), (d - s).count() };
}

} // namespace

// Sleeps until the deadline or a signal that is to be delivered (then
// ERESTARTNOHAND: EINTR after a handler; relative sleeps report what
// remains).
KResult<u64> sys_clock_nanosleep(Thread& t, int id, int flags, GuestAddr request, GuestAddr remain)
{
    if (!valid_clock(id) && !cpu_clock(id))
        return err(Errno::INVAL);
    if (id == CLOCK_THREAD_CPUTIME_ID)
        return err(Errno::INVAL);
    if (id == CLOCK_MONOTONIC_RAW || id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE)
        return err(Errno::OPNOTSUPP);
    if (id == CLOCK_PROCESS_CPUTIME_ID) {
        t.kernel().log_once("nanosleep cpu", "clock_nanosleep: CLOCK_PROCESS_CPUTIME_ID not supported: EOPNOTSUPP");
        return err(Errno::OPNOTSUPP);
    }
    if (flags & ~TIMER_ABSTIME)
        return err(Errno::INVAL);
    auto req = TRY(copy_in_timespec(t, request));
    auto duration = to_duration(req);
    if (flags & TIMER_ABSTIME) {
        timespec now {};
        clock_gettime(id, &now);
        duration -= to_duration(abi::Timespec { now.tv_sec, now.tv_nsec });
    }
    auto deadline = Steady::now() + duration;
    if (!t.wait_for_signal(deadline))
        return 0;
    if (!(flags & TIMER_ABSTIME) && !remain.null())
        TRY(copy_out(t, remain.value, to_timespec(deadline - Steady::now())));
    return err(Errno::RESTARTNOHAND);
}

KResult<u64> sys_nanosleep(Thread& t, GuestAddr request, GuestAddr remain)
{
    return sys_clock_nanosleep(t, CLOCK_MONOTONIC, 0, request, remain);
}

// setitimer(2), getitimer(2), alarm(2): the process's interval timers
// (process_timers.h).
namespace {

using std::chrono::nanoseconds;

nanoseconds from_timeval(const abi::Timeval& tv) { return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec); }

abi::Timeval to_timeval(nanoseconds d)
{
    // Linux rounds a pending value up to a whole microsecond.
    auto us = std::chrono::ceil<std::chrono::microseconds>(d).count();
    return { us / 1000000, us % 1000000 };
}


KResult<int> itimer_key(int which)
{
    switch (which) {
    case ITIMER_REAL:
        return ProcessTimers::kItimerReal;
    case ITIMER_VIRTUAL:
        return ProcessTimers::kItimerVirtual;
    case ITIMER_PROF:
        return ProcessTimers::kItimerProf;
    }
    return err(Errno::INVAL);
}

bool valid_timeval(const abi::Timeval& tv) { return tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000; }

abi::Itimerval as_itimerval(std::pair<nanoseconds, nanoseconds> v) { return { to_timeval(v.second), to_timeval(v.first) }; }

} // namespace

KResult<u64> sys_setitimer(Thread& t, int which, GuestAddr value, GuestAddr old_value)
{
    int key = TRY(itimer_key(which));
    abi::Itimerval v {}; // NULL disarms, as Linux still allows
    if (!value.null()) {
        v = TRY(copy_in<abi::Itimerval>(t, value.value));
        if (!valid_timeval(v.it_value) || !valid_timeval(v.it_interval))
            return err(Errno::INVAL);
    }
    auto old = t.process().timers.set(t.kernel(), t.process(), key, from_timeval(v.it_value), from_timeval(v.it_interval));
    if (!old_value.null())
        TRY(copy_out(t, old_value.value, as_itimerval(old)));
    return 0;
}

KResult<u64> sys_getitimer(Thread& t, int which, GuestAddr value)
{
    int key = TRY(itimer_key(which));
    TRY(copy_out(t, value.value, as_itimerval(t.process().timers.get(t.process(), key))));
    return 0;
}

KResult<u64> sys_alarm(Thread& t, u32 seconds)
{
    auto old = t.process().timers.set(t.kernel(), t.process(), ProcessTimers::kItimerReal, std::chrono::seconds(seconds),
                                      nanoseconds(0));
    // Linux's alarm_setitimer: round to the nearest second, never 0 for a
    // pending alarm.
    abi::Timeval left = to_timeval(old.first);
    i64 secs = left.tv_sec;
    if ((!secs && left.tv_usec) || left.tv_usec >= 500000)
        secs++;
    return static_cast<u64>(secs);
}

// timer_create(2) and friends. CPU-time clocks are the process's (a
// thread's own CPU clock counts the whole process: Partial).
namespace {

constexpr int kSigevSignal = 0, kSigevNone = 1, kSigevThread = 2, kSigevThreadId = 4;
constexpr int kSiTimer = -2;

struct Sigevent {
    u64 value;
    i32 signo;
    i32 notify;
    i32 tid; // SIGEV_THREAD_ID
    i32 pad[11];
};
static_assert(sizeof(Sigevent) == 64);

struct Itimerspec {
    abi::Timespec interval, value;
};

KResult<bool> cpu_timer_clock(Thread& t, int id)
{
    if (cpu_clock(id)) {
        auto p = TRY(cpu_clock_process(t, id));
        if (p.get() != &t.process())
            return err(Errno::INVAL); // timers on other processes' clocks: not here
        return true;
    }
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        return false;
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
        return err(Errno::PERM); // CAP_WAKE_ALARM: not here
    }
    return err(Errno::INVAL);
}

} // namespace

KResult<u64> sys_timer_create(Thread& t, int clock, GuestAddr sevp, GuestAddr timer_id)
{
    KernelTimer model;
    model.cpu = TRY(cpu_timer_clock(t, clock));
    model.clock = clock;
    Sigevent ev { 0, kSigAlrm, kSigevSignal, 0, {} };
    if (!sevp.null())
        ev = TRY(copy_in<Sigevent>(t, sevp.value));
    switch (ev.notify) {
    case kSigevNone:
        model.notify = false;
        break;
    case kSigevSignal:
    case kSigevThreadId:
        if (ev.signo < 1 || ev.signo > kSigMax)
            return err(Errno::INVAL);
        if (ev.notify == kSigevThreadId) {
            std::lock_guard lock(t.process().signal_lock());
            if (!t.process().find_thread_locked(ev.tid))
                return err(Errno::INVAL);
            model.tid = ev.tid;
        }
        break;
    case kSigevThread: // glibc turns SIGEV_THREAD into SIGEV_THREAD_ID
    default:
        return err(Errno::INVAL);
    }
    model.info = make_siginfo(model.notify ? ev.signo : 0, kSiTimer);
    // No sigevent: the value is the timer id (filled in by create()).
    model.info.timer.value = sevp.null() ? 0 : ev.value;
    model.value_is_id = sevp.null();
    int id = TRY(t.process().timers.create(model));
    if (auto r = copy_out(t, timer_id.value, id); !r) {
        (void)t.process().timers.remove(t.kernel(), id);
        return err(r.error());
    }
    return 0;
}

KResult<u64> sys_timer_settime(Thread& t, int id, int flags, GuestAddr new_value, GuestAddr old_value)
{
    if (!t.process().timers.exists(id))
        return err(Errno::INVAL);
    auto spec = TRY(copy_in<Itimerspec>(t, new_value.value));
    for (auto& ts : { spec.interval, spec.value })
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return err(Errno::INVAL);
    nanoseconds value = to_duration(spec.value);
    if ((flags & TIMER_ABSTIME) && value.count() > 0) {
        // An absolute time on the timer's own clock: made relative.
        int clock = t.process().timers.clock_of(id);
        nanoseconds now;
        if (cpu_clock(clock)) {
            auto u = t.process().cpu_usage();
            now = nanoseconds(u.user_ns + u.system_ns);
        } else {
            timespec ts {};
            clock_gettime(clock, &ts);
            now = std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
        }
        value = std::max(value - now, nanoseconds(1));
    }
    auto old = t.process().timers.set(t.kernel(), t.process(), id, value, to_duration(spec.interval));
    if (!old_value.null())
        TRY(copy_out(t, old_value.value, Itimerspec { to_timespec(old.second), to_timespec(old.first) }));
    return 0;
}

KResult<u64> sys_timer_gettime(Thread& t, int id, GuestAddr value)
{
    if (!t.process().timers.exists(id))
        return err(Errno::INVAL);
    auto v = t.process().timers.get(t.process(), id);
    TRY(copy_out(t, value.value, Itimerspec { to_timespec(v.second), to_timespec(v.first) }));
    return 0;
}

KResult<u64> sys_timer_getoverrun(Thread& t, int id) { return static_cast<u64>(TRY(t.process().timers.overrun(id))); }

KResult<u64> sys_timer_delete(Thread& t, int id)
{
    TRY(t.process().timers.remove(t.kernel(), id));
    return 0;
}

} // namespace umk::kernel
