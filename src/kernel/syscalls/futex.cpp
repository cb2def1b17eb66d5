// futex(2) for one thread: the processes issue brings the futex table.
// Linux: kernel/futex/.
#include "kernel/syscalls/handlers.h"

#include <linux/futex.h>
#include <time.h>
#include <unistd.h>

namespace umk::kernel {

KResult<u64> sys_futex(Thread& t, GuestAddr uaddr, int op, u32 val, GuestAddr timeout, GuestAddr, u32)
{
    int cmd = op & FUTEX_CMD_MASK;
    if (uaddr.value & 3)
        return err(Errno::INVAL);
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
        u32 current = TRY(copy_in<u32>(t, uaddr.value));
        if (current != val)
            return err(Errno::AGAIN);
        // With one thread nobody can wake us: sleep out the timeout, or
        // forever, as Linux would (until a signal, once they exist).
        if (timeout.null()) {
            for (;;)
                pause();
        }
        auto ts = TRY(copy_in<abi::Timespec>(t, timeout.value));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return err(Errno::INVAL);
        timespec req { ts.tv_sec, ts.tv_nsec };
        int clock = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
        int flags = cmd == FUTEX_WAIT_BITSET ? TIMER_ABSTIME : 0;
        while (clock_nanosleep(clock, flags, &req, &req) == EINTR) {
        }
        return err(Errno::TIMEDOUT);
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        TRY(copy_in<u32>(t, uaddr.value));
        return 0;
    }
    t.kernel().log_once(fmt::format("futex op {}", cmd), fmt::format("futex: operation {} not supported yet: ENOSYS", cmd));
    return err(Errno::NOSYS);
}

} // namespace umk::kernel
