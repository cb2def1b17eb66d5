#pragma once

// futex(2) waiters by key (see FutexKey): private futexes within one
// address space, shared ones across the processes that map the memory.
// Linux: kernel/futex/.
//
// Lock order: FutexTable::m_lock, then a waiter's Process::signal_lock()
// (taken to wake it). A waiter never holds signal_lock() while taking
// m_lock.

#include "kernel/task/task.h"

#include <list>

namespace umk::kernel {

class FutexTable {
public:
    // FUTEX_WAIT(_BITSET): sleeps while *addr == expected, until woken, a
    // deliverable signal (ERESTARTSYS) or the deadline (ETIMEDOUT).
    KResult<u64> wait(Thread&, FutexKey, u64 addr, u32 expected, u32 bitset,
                      std::optional<std::chrono::steady_clock::time_point> deadline);
    // FUTEX_WAKE(_BITSET): wakes up to `count` waiters on the key.
    u64 wake(FutexKey, u32 count, u32 bitset);
    // FUTEX_(CMP_)REQUEUE: wakes `count`, moves up to `requeue` more to key2.
    KResult<u64> requeue(Thread&, FutexKey key, u64 addr, FutexKey key2, u32 count, u32 requeue,
                         std::optional<u32> expected);
    // FUTEX_WAKE_OP: *addr2 = op(*addr2, oparg) atomically; wakes `count`
    // on key, and `count2` on key2 if cmp(old *addr2, cmparg) holds.
    KResult<u64> wake_op(Thread&, FutexKey key, FutexKey key2, u64 addr2, u32 count, u32 count2, u32 encoded_op);
    // PI futexes: the word holds the owner's tid (| FUTEX_WAITERS while
    // others sleep); unlocking hands the lock to the first waiter.
    KResult<u64> lock_pi(Thread&, FutexKey key, u64 addr, bool try_only,
                         std::optional<std::chrono::steady_clock::time_point> deadline);
    KResult<u64> unlock_pi(Thread&, FutexKey key, u64 addr);

private:
    struct Waiter {
        Thread* thread;
        FutexKey key;
        u32 bitset;
        std::atomic<bool> woken { false };
        bool pi { false }; // a FUTEX_LOCK_PI waiter: woken means it owns the lock
    };
    void wake_locked(Waiter&);
    // Wakes up to `count` (non-PI) waiters on key whose bitset matches.
    u64 wake_matching_locked(FutexKey, u32 count, u32 bitset);

    std::mutex m_lock;
    std::list<Waiter*> m_waiters;
};

} // namespace umk::kernel
