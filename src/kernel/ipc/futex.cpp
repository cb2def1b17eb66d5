#include "kernel/ipc/futex.h"

#include "kernel/kernel.h"

namespace umk::kernel {

void FutexTable::wake_locked(Waiter& w)
{
    w.woken = true;
    w.thread->wake_from_wait();
}

KResult<u64> FutexTable::wait(Thread& t, FutexKey key, u64 addr, u32 expected, u32 bitset,
                              std::optional<std::chrono::steady_clock::time_point> deadline)
{
    Waiter self;
    self.thread = &t;
    self.key = key;
    self.bitset = bitset;
    {
        // The value check and the queueing are atomic with respect to
        // wakers, who take the same lock: no wakeup is lost.
        std::lock_guard lock(m_lock);
        u32 current = TRY(copy_in<u32>(t, addr));
        if (current != expected)
            return err(Errno::AGAIN);
        m_waiters.push_back(&self);
    }
    bool in_time = t.wait_until(deadline, [&] { return self.woken.load(); });
    std::lock_guard lock(m_lock);
    m_waiters.remove(&self);
    if (self.woken)
        return 0;
    if (!in_time)
        return err(Errno::TIMEDOUT);
    // Linux: ERESTART_RESTARTBLOCK with a timeout (EINTR when a handler
    // ran, even with SA_RESTART), ERESTARTSYS without one.
    return err(deadline ? Errno::RESTARTNOHAND : Errno::RESTARTSYS);
}

u64 FutexTable::wake(FutexKey key, u32 count, u32 bitset)
{
    std::lock_guard lock(m_lock);
    return wake_matching_locked(key, count, bitset);
}

u64 FutexTable::wake_matching_locked(FutexKey key, u32 count, u32 bitset)
{
    u64 woken = 0;
    for (auto it = m_waiters.begin(); it != m_waiters.end() && woken < count;) {
        Waiter* w = *it;
        if (w->key == key && (w->bitset & bitset) && !w->woken && !w->pi) {
            wake_locked(*w);
            it = m_waiters.erase(it);
            woken++;
        } else {
            ++it;
        }
    }
    return woken;
}

KResult<u64> FutexTable::wake_op(Thread& t, FutexKey key, FutexKey key2, u64 addr2, u32 count, u32 count2,
                                 u32 encoded_op)
{
    using Op = platform::Context::AtomicOp;
    u32 op = (encoded_op >> 28) & 7;
    u32 cmp = (encoded_op >> 24) & 15;
    i32 oparg = static_cast<i32>(encoded_op << 8) >> 20;
    i32 cmparg = static_cast<i32>(encoded_op << 20) >> 20;
    if (encoded_op & (8U << 28)) // FUTEX_OP_OPARG_SHIFT
        oparg = 1 << (oparg & 31);
    if (op > 4)
        return err(Errno::NOSYS);
    TRY(t.mm().check_user_word(addr2));
    std::lock_guard lock(m_lock);
    u32 old = TRY(t.context().atomic_op(addr2, static_cast<Op>(op), static_cast<u32>(oparg), 0));
    // Linux applies the op before it looks at the comparison.
    if (cmp > 5)
        return err(Errno::NOSYS);
    u64 woken = wake_matching_locked(key, count, ~0U);
    i32 o = static_cast<i32>(old);
    bool hit = cmp == 0 ? o == cmparg : cmp == 1 ? o != cmparg : cmp == 2 ? o < cmparg : cmp == 3 ? o <= cmparg
        : cmp == 4 ? o > cmparg : o >= cmparg;
    if (hit)
        woken += wake_matching_locked(key2, count2, ~0U);
    return woken;
}

namespace {
constexpr u32 kFutexWaiters = 0x80000000, kFutexOwnerDied = 0x40000000, kFutexTidMask = 0x3fffffff;
}

KResult<u64> FutexTable::lock_pi(Thread& t, FutexKey key, u64 addr, bool try_only,
                                 std::optional<std::chrono::steady_clock::time_point> deadline)
{
    using Op = platform::Context::AtomicOp;
    TRY(t.mm().check_user_word(addr));
    u32 tid = static_cast<u32>(t.tid());
    Waiter self;
    self.thread = &t;
    self.key = key;
    self.bitset = ~0U;
    self.pi = true;
    {
        std::lock_guard lock(m_lock);
        for (;;) {
            u32 old = TRY(t.context().atomic_op(addr, Op::CompareExchange, tid, 0));
            if (old == 0)
                return 0; // it was free: ours
            if ((old & kFutexTidMask) == tid)
                return err(Errno::DEADLK);
            if ((old & kFutexTidMask) == 0) {
                // No owner (OWNER_DIED left behind, or just WAITERS): take it.
                u32 mine = tid | (old & kFutexWaiters);
                if (TRY(t.context().atomic_op(addr, Op::CompareExchange, mine, old)) == old)
                    return 0;
                continue;
            }
            if (try_only)
                return err(Errno::AGAIN);
            if (!t.kernel().find_thread_group(static_cast<int>(old & kFutexTidMask)))
                return err(Errno::SRCH); // the owner is gone without a robust list
            // Mark that someone waits, so that the owner's unlock comes here.
            if (!(old & kFutexWaiters)
                && TRY(t.context().atomic_op(addr, Op::CompareExchange, old | kFutexWaiters, old)) != old)
                continue;
            m_waiters.push_back(&self);
            break;
        }
    }
    bool in_time = t.wait_until(deadline, [&] { return self.woken.load(); });
    std::lock_guard lock(m_lock);
    m_waiters.remove(&self);
    if (self.woken)
        return 0; // unlock_pi made us the owner
    return err(in_time ? Errno::RESTARTNOINTR : Errno::TIMEDOUT);
}

KResult<u64> FutexTable::unlock_pi(Thread& t, FutexKey key, u64 addr)
{
    using Op = platform::Context::AtomicOp;
    TRY(t.mm().check_user_word(addr));
    u32 tid = static_cast<u32>(t.tid());
    std::lock_guard lock(m_lock);
    for (;;) {
        u32 old = TRY(t.context().atomic_op(addr, Op::CompareExchange, 0, 0));
        if ((old & kFutexTidMask) != tid)
            return err(Errno::PERM);
        Waiter* next = nullptr;
        usize others = 0;
        for (Waiter* w : m_waiters) {
            if (w->key == key && w->pi && !w->woken) {
                if (!next)
                    next = w;
                else
                    others++;
            }
        }
        u32 value = next ? static_cast<u32>(next->thread->tid()) | (others ? kFutexWaiters : 0) : 0;
        if (TRY(t.context().atomic_op(addr, Op::CompareExchange, value, old)) != old)
            continue; // a new waiter set FUTEX_WAITERS meanwhile
        if (next) {
            wake_locked(*next);
            m_waiters.remove(next);
        }
        return 0;
    }
}

KResult<u64> FutexTable::requeue(Thread& t, FutexKey key, u64 addr, FutexKey key2, u32 count, u32 requeue,
                                 std::optional<u32> expected)
{
    std::lock_guard lock(m_lock);
    if (expected) {
        u32 current = TRY(copy_in<u32>(t, addr));
        if (current != *expected)
            return err(Errno::AGAIN);
    }
    u64 woken = 0, moved = 0;
    for (auto it = m_waiters.begin(); it != m_waiters.end();) {
        Waiter* w = *it;
        if (w->key != key || w->woken || w->pi) {
            ++it;
            continue;
        }
        if (woken < count) {
            wake_locked(*w);
            it = m_waiters.erase(it);
            woken++;
        } else if (moved < requeue) {
            w->key = key2;
            moved++;
            ++it;
        } else {
            break;
        }
    }
    return woken + moved;
}

} // namespace umk::kernel
