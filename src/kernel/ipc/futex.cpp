#include "kernel/ipc/futex.h"

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
    return err(in_time ? Errno::RESTARTSYS : Errno::TIMEDOUT);
}

u64 FutexTable::wake(FutexKey key, u32 count, u32 bitset)
{
    std::lock_guard lock(m_lock);
    u64 woken = 0;
    for (auto it = m_waiters.begin(); it != m_waiters.end() && woken < count;) {
        Waiter* w = *it;
        if (w->key == key && (w->bitset & bitset) && !w->woken) {
            wake_locked(*w);
            it = m_waiters.erase(it);
            woken++;
        } else {
            ++it;
        }
    }
    return woken;
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
        if (w->key != key || w->woken) {
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
