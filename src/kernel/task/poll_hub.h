#pragma once

// Where poll(2) and select(2) sleep: any change of a pollable kernel
// object (a pipe's contents or ends) wakes every poller, which then looks
// at its own files again. Simple and correct; per-object wait lists come
// with epoll.
//
// Lock order: an object's lock, then PollHub's, then a waiter's
// Process::signal_lock().

#include "kernel/task/task.h"

#include <list>

namespace umk::kernel {

class PollHub {
public:
    static PollHub& the();

    u64 generation() const { return m_generation.load(); }
    // Something pollable changed.
    void notify();
    // Sleeps until a change after `seen`, a deliverable signal or the
    // deadline; false when the deadline passed.
    bool wait(Thread&, u64 seen, std::optional<std::chrono::steady_clock::time_point> deadline);
    // The same, then `on_signal` when a signal is to be delivered; false
    // when the deadline passed.
    KResult<bool> wait_or_signal(Thread&, u64 seen, std::optional<std::chrono::steady_clock::time_point> deadline,
                                 Errno on_signal);

private:
    std::atomic<u64> m_generation { 0 };
    std::mutex m_lock;
    std::list<Thread*> m_waiters;
};

} // namespace umk::kernel
