#pragma once

// Threads sleeping until a kernel object changes (Linux's wait_queue_head):
// pipes, wait(2)-like waits on objects with their own lock.
//
// Lock order: the object's lock (the one passed to wait()), then a
// waiter's Process::signal_lock() (taken to wake it).

#include "kernel/task/task.h"

#include <list>

namespace umk::kernel {

class WaitQueue {
public:
    // Sleeps, with `lock` (the object's) released, until `ready()` holds
    // (checked under `lock`), a deliverable signal (ERESTARTSYS) or the
    // deadline (ETIMEDOUT). Returns with `lock` held.
    template <class Ready>
    KResult<void> wait(Thread& t, std::unique_lock<std::mutex>& lock, Ready ready,
                       std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt)
    {
        while (!ready()) {
            Waiter w { &t };
            m_waiters.push_back(&w);
            lock.unlock();
            bool in_time = t.wait_until(deadline, [&] { return w.woken.load(); });
            lock.lock();
            m_waiters.remove(&w);
            if (w.woken.load())
                continue;
            if (!in_time)
                return err(Errno::TIMEDOUT);
            return err(Errno::RESTARTSYS);
        }
        return {};
    }

    // With the object's lock held: every sleeper checks again.
    void wake_all()
    {
        for (Waiter* w : m_waiters) {
            w->woken = true;
            w->thread->wake_from_wait();
        }
    }

private:
    struct Waiter {
        Thread* thread;
        std::atomic<bool> woken { false };
    };
    std::list<Waiter*> m_waiters;
};

} // namespace umk::kernel
