// timerfd_create(2), timerfd_settime/gettime, signalfd(2), signalfd4.
// Linux: fs/timerfd.c, fs/signalfd.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/ipc/timerfd.h"

#include <sys/signalfd.h>
#include <sys/timerfd.h>

namespace umk::kernel {

KResult<u64> sys_timerfd_create(Thread& t, int clock, int flags)
{
    if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
        return err(Errno::INVAL);
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
        break;
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
        // Waking a suspended machine means nothing here: with the
        // capability it is the plain clock.
        if (!t.process().creds().has(kCapWakeAlarm))
            return err(Errno::PERM);
        clock = clock == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : CLOCK_BOOTTIME;
        break;
    default:
        return err(Errno::INVAL);
    }
    return install_fd(t, make_timerfd(t.kernel(), clock, flags & TFD_NONBLOCK), flags & TFD_CLOEXEC);
}

KResult<u64> sys_timerfd_settime(Thread& t, int fd, int flags, GuestAddr new_value, GuestAddr old_value)
{
    if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
        return err(Errno::INVAL);
    auto file = TRY(get_file(t, fd));
    auto spec = TRY(copy_in<TimerfdSpec>(t, new_value.value));
    for (auto& ts : { spec.interval, spec.value })
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return err(Errno::INVAL);
    // TFD_TIMER_CANCEL_ON_SET: umk's guests cannot set the host's clock,
    // so the cancellation it asks for never comes.
    auto old = TRY(timerfd_settime(*file, flags, spec));
    if (!old_value.null())
        TRY(copy_out(t, old_value.value, old));
    return 0;
}

KResult<u64> sys_timerfd_gettime(Thread& t, int fd, GuestAddr cur)
{
    auto file = TRY(get_file(t, fd));
    TRY(copy_out(t, cur.value, TRY(timerfd_gettime(*file))));
    return 0;
}

KResult<u64> sys_signalfd4(Thread& t, int fd, GuestAddr mask_ptr, u64 size, int flags)
{
    if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
        return err(Errno::INVAL);
    if (size != 8)
        return err(Errno::INVAL);
    u64 mask = TRY(copy_in<u64>(t, mask_ptr.value)) & ~kUnblockable;
    if (fd == -1)
        return install_fd(t, make_signalfd(mask, flags & SFD_NONBLOCK), flags & SFD_CLOEXEC);
    auto file = TRY(get_file(t, fd));
    TRY(signalfd_set_mask(*file, mask));
    return static_cast<u64>(fd);
}

KResult<u64> sys_signalfd(Thread& t, int fd, GuestAddr mask_ptr, u64 size) { return sys_signalfd4(t, fd, mask_ptr, size, 0); }

} // namespace umk::kernel
