// Clocks and sleeping. Linux: kernel/time/posix-timers.c, hrtimer.c.
#include "kernel/syscalls/handlers.h"

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

KResult<u64> sys_clock_nanosleep(Thread& t, int id, int flags, GuestAddr request, GuestAddr remain)
{
    if (!valid_clock(id) || id == CLOCK_MONOTONIC_RAW || id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE)
        return err(id == CLOCK_THREAD_CPUTIME_ID ? Errno::INVAL : Errno::OPNOTSUPP);
    if (flags & ~TIMER_ABSTIME)
        return err(Errno::INVAL);
    auto req = TRY(copy_in_timespec(t, request));
    timespec ts { req.tv_sec, req.tv_nsec };
    (void)remain; // no signal can interrupt the sleep yet: nothing remains
    while (clock_nanosleep(id, flags, &ts, &ts) == EINTR) {
    }
    return 0;
}

KResult<u64> sys_nanosleep(Thread& t, GuestAddr request, GuestAddr remain)
{
    return sys_clock_nanosleep(t, CLOCK_MONOTONIC, 0, request, remain);
}

} // namespace umk::kernel
