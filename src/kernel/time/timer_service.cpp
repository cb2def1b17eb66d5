#include "kernel/time/timer_service.h"

namespace umk::kernel {

TimerService::TimerService() : m_thread([this] { loop(); }) {}

TimerService::~TimerService()
{
    {
        std::lock_guard lock(m_lock);
        m_stopping = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

u64 TimerService::add(Clock::time_point when, std::function<void()> fn)
{
    u64 id;
    {
        std::lock_guard lock(m_lock);
        id = m_next_id++;
        m_timers.emplace(when, std::make_pair(id, std::move(fn)));
    }
    m_cv.notify_all();
    return id;
}

bool TimerService::cancel(u64 id)
{
    std::lock_guard lock(m_lock);
    for (auto it = m_timers.begin(); it != m_timers.end(); ++it) {
        if (it->second.first == id) {
            m_timers.erase(it);
            return true;
        }
    }
    return false;
}

void TimerService::loop()
{
    std::unique_lock lock(m_lock);
    while (!m_stopping) {
        if (m_timers.empty()) {
            m_cv.wait(lock);
            continue;
        }
        auto first = m_timers.begin();
        if (first->first > Clock::now()) {
            // A copy: cancel() may erase the node while we wait.
            auto when = first->first;
            m_cv.wait_until(lock, when);
            continue;
        }
        auto fn = std::move(first->second.second);
        m_timers.erase(first);
        lock.unlock();
        fn();
        lock.lock();
    }
}

} // namespace umk::kernel
