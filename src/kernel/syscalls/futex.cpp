// futex(2). Linux: kernel/futex/.
#include "kernel/syscalls/handlers.h"

#include <linux/futex.h>
#include <time.h>

namespace umk::kernel {

namespace {

// The timeout argument: relative for FUTEX_WAIT, absolute (on the chosen
// clock) for FUTEX_WAIT_BITSET, as Linux.
KResult<std::optional<std::chrono::steady_clock::time_point>> futex_deadline(Thread& t, GuestAddr timeout, bool absolute,
                                                                            bool realtime)
{
    if (timeout.null())
        return std::optional<std::chrono::steady_clock::time_point> {};
    auto ts = TRY(copy_in<abi::Timespec>(t, timeout.value));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return err(Errno::INVAL);
    auto d = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    if (absolute) {
        timespec now {};
        clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
        d -= std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
    }
    return std::optional(std::chrono::steady_clock::now() + d);
}

} // namespace

KResult<u64> sys_futex(Thread& t, GuestAddr uaddr, int op, u32 val, GuestAddr timeout, GuestAddr uaddr2, u32 val3)
{
    int cmd = op & FUTEX_CMD_MASK;
    bool realtime = op & FUTEX_CLOCK_REALTIME;
    if (realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI2)
        return err(Errno::NOSYS);
    if (uaddr.value & 3)
        return err(Errno::INVAL);
    auto& futexes = t.kernel().futexes();
    bool shared = !(op & FUTEX_PRIVATE_FLAG);
    auto key = [&](GuestAddr a) { return t.mm().futex_key(a.value, shared); };
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
        u32 bitset = cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3;
        if (!bitset)
            return err(Errno::INVAL);
        auto deadline = TRY(futex_deadline(t, timeout, cmd == FUTEX_WAIT_BITSET, realtime));
        return futexes.wait(t, key(uaddr), uaddr.value, val, bitset, deadline);
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
        u32 bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
        if (!bitset)
            return err(Errno::INVAL);
        return futexes.wake(key(uaddr), val, bitset);
    }
    case FUTEX_WAKE_OP: {
        if (uaddr2.value & 3)
            return err(Errno::INVAL);
        // val2 (the second count) travels in the timeout argument's register.
        return futexes.wake_op(t, key(uaddr), key(uaddr2), uaddr2.value, val, static_cast<u32>(timeout.value), val3);
    }
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_TRYLOCK_PI: {
        // LOCK_PI's timeout is absolute on CLOCK_REALTIME; LOCK_PI2's on
        // CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME.
        auto deadline = TRY(futex_deadline(t, cmd == FUTEX_TRYLOCK_PI ? GuestAddr {} : timeout, true,
                                           cmd == FUTEX_LOCK_PI || realtime));
        return futexes.lock_pi(t, key(uaddr), uaddr.value, cmd == FUTEX_TRYLOCK_PI, deadline);
    }
    case FUTEX_UNLOCK_PI:
        return futexes.unlock_pi(t, key(uaddr), uaddr.value);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
        if (uaddr2.value & 3)
            return err(Errno::INVAL);
        // val2 travels in the timeout argument's register.
        u32 requeue = static_cast<u32>(timeout.value);
        if (static_cast<i32>(val) < 0 || static_cast<i32>(requeue) < 0)
            return err(Errno::INVAL);
        std::optional<u32> expected;
        if (cmd == FUTEX_CMP_REQUEUE)
            expected = val3;
        return futexes.requeue(t, key(uaddr), uaddr.value, key(uaddr2), val, requeue, expected);
    }
    }
    t.kernel().log_once(fmt::format("futex op {}", cmd), fmt::format("futex: operation {} not supported yet: ENOSYS", cmd));
    return err(Errno::NOSYS);
}

} // namespace umk::kernel
