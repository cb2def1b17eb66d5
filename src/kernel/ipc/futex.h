#pragma once

// futex(2) between the threads of a guest address space (private and
// shared keys are both the (address space, address) pair until the
// processes issue brings shared mappings across processes).
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
    KResult<u64> wait(Thread&, u64 addr, u32 expected, u32 bitset,
                      std::optional<std::chrono::steady_clock::time_point> deadline);
    // FUTEX_WAKE(_BITSET): wakes up to `count` waiters on addr.
    u64 wake(MemoryManager&, u64 addr, u32 count, u32 bitset);
    // FUTEX_(CMP_)REQUEUE: wakes `count`, moves up to `requeue` more to addr2.
    KResult<u64> requeue(Thread&, u64 addr, u64 addr2, u32 count, u32 requeue, std::optional<u32> expected);

private:
    struct Waiter {
        Thread* thread;
        MemoryManager* mm;
        u64 addr;
        u32 bitset;
        std::atomic<bool> woken { false };
    };
    void wake_locked(Waiter&);

    std::mutex m_lock;
    std::list<Waiter*> m_waiters;
};

} // namespace umk::kernel
