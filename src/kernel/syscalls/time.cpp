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

// CPU-time clocks: per-task accounting is not there yet; these report the
// kernel process's own clocks (Partial in the table).
bool cpu_clock(int id) { return id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID; }

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
    timespec ts {};
    clock_gettime(id, &ts);
    TRY(copy_out(t, out.value, abi::Timespec { ts.tv_sec, ts.tv_nsec }));
    return 0;
}

KResult<u64> sys_clock_getres(Thread& t, int id, GuestAddr out)
{
    if (!valid_clock(id) && !cpu_clock(id))
        return err(Errno::INVAL);
    timespec ts {};
    clock_getres(id, &ts);
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
    if (!valid_clock(id) || id == CLOCK_MONOTONIC_RAW || id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE)
        return err(id == CLOCK_THREAD_CPUTIME_ID ? Errno::INVAL : Errno::OPNOTSUPP);
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

// ITIMER_REAL (setitimer, alarm): SIGALRM to the process from the kernel's
// timer service. A generation number retires callbacks of replaced timers.
namespace {

constexpr int kItimerReal = 0;

void arm_real_timer_locked(Kernel& k, RefPtr<Process> p)
{
    auto& timer = p->real_timer;
    u64 generation = ++timer.generation;
    if (timer.deadline == Steady::time_point {})
        return;
    timer.id = k.timers().add(timer.deadline, [&k, p, generation] {
        p->send_signal(make_siginfo(kSigAlrm, kSiKernel));
        std::lock_guard lock(p->lock());
        auto& real = p->real_timer;
        if (real.generation != generation)
            return;
        if (real.interval.count() > 0) {
            real.deadline += real.interval;
            arm_real_timer_locked(k, p);
        } else {
            real.deadline = {};
        }
    });
}

abi::Itimerval read_real_timer_locked(const Process::RealTimer& timer)
{
    abi::Itimerval v {};
    auto us = [](std::chrono::microseconds d) { return abi::Timeval { d.count() / 1000000, d.count() % 1000000 }; };
    v.it_interval = us(timer.interval);
    if (timer.deadline != Steady::time_point {}) {
        auto left = std::chrono::ceil<std::chrono::microseconds>(timer.deadline - Steady::now());
        v.it_value = us(std::max(left, std::chrono::microseconds(1)));
    }
    return v;
}

// Replaces the process's real timer; returns the old setting.
abi::Itimerval set_real_timer(Thread& t, const abi::Itimerval& value)
{
    RefPtr<Process> p(&t.process());
    std::lock_guard lock(p->lock());
    auto& timer = p->real_timer;
    abi::Itimerval old = read_real_timer_locked(timer);
    if (timer.id)
        t.kernel().timers().cancel(timer.id);
    auto as_us = [](const abi::Timeval& tv) { return std::chrono::microseconds(tv.tv_sec * 1000000 + tv.tv_usec); };
    timer.interval = as_us(value.it_interval);
    timer.deadline = value.it_value.tv_sec || value.it_value.tv_usec ? Steady::now() + as_us(value.it_value)
                                                                     : Steady::time_point {};
    arm_real_timer_locked(t.kernel(), p);
    return old;
}

KResult<void> real_timer_only(Thread& t, int which)
{
    if (which == kItimerReal)
        return {};
    if (which == 1 || which == 2)
        t.kernel().log_once("itimer cpu", "setitimer: ITIMER_VIRTUAL and ITIMER_PROF not supported yet: EINVAL");
    return err(Errno::INVAL);
}

bool valid_timeval(const abi::Timeval& tv) { return tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000; }

} // namespace

KResult<u64> sys_setitimer(Thread& t, int which, GuestAddr value, GuestAddr old_value)
{
    TRY(real_timer_only(t, which));
    abi::Itimerval v {}; // NULL disarms, as Linux still allows
    if (!value.null()) {
        v = TRY(copy_in<abi::Itimerval>(t, value.value));
        if (!valid_timeval(v.it_value) || !valid_timeval(v.it_interval))
            return err(Errno::INVAL);
    }
    auto old = set_real_timer(t, v);
    if (!old_value.null())
        TRY(copy_out(t, old_value.value, old));
    return 0;
}

KResult<u64> sys_getitimer(Thread& t, int which, GuestAddr value)
{
    TRY(real_timer_only(t, which));
    abi::Itimerval v;
    {
        std::lock_guard lock(t.process().lock());
        v = read_real_timer_locked(t.process().real_timer);
    }
    TRY(copy_out(t, value.value, v));
    return 0;
}

KResult<u64> sys_alarm(Thread& t, u32 seconds)
{
    abi::Itimerval v {};
    v.it_value.tv_sec = seconds;
    auto old = set_real_timer(t, v);
    // Linux's alarm_setitimer: round to the nearest second, never 0 for a
    // pending alarm.
    i64 left = old.it_value.tv_sec;
    if ((!left && old.it_value.tv_usec) || old.it_value.tv_usec >= 500000)
        left++;
    return static_cast<u64>(left);
}

} // namespace umk::kernel
