#include "kernel/task/poll_hub.h"

namespace umk::kernel {

PollHub& PollHub::the()
{
    static PollHub hub;
    return hub;
}

void PollHub::notify()
{
    m_generation++;
    std::lock_guard lock(m_lock);
    for (Thread* t : m_waiters)
        t->wake_from_wait();
}

bool PollHub::wait(Thread& t, u64 seen, std::optional<std::chrono::steady_clock::time_point> deadline)
{
    std::list<Thread*>::iterator self;
    {
        std::lock_guard lock(m_lock);
        self = m_waiters.insert(m_waiters.end(), &t);
    }
    bool in_time = t.wait_until(deadline, [&] { return m_generation.load() != seen; });
    std::lock_guard lock(m_lock);
    m_waiters.erase(self);
    return in_time;
}

KResult<bool> PollHub::wait_or_signal(Thread& t, u64 seen, std::optional<std::chrono::steady_clock::time_point> deadline,
                                      Errno on_signal)
{
    bool in_time = wait(t, seen, deadline);
    std::lock_guard lock(t.process().signal_lock());
    if (t.has_deliverable_locked())
        return err(on_signal);
    return in_time;
}

} // namespace umk::kernel
