#pragma once

// One kernel thread that runs callbacks at deadlines (interval timers,
// alarm). Callbacks run on the service's thread and must not block.
//
// Lock order: TimerService::m_lock is taken alone; callbacks run without it.

#include "lib/types.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace umk::kernel {

class TimerService {
public:
    using Clock = std::chrono::steady_clock;

    TimerService();
    ~TimerService();

    // Runs `fn` at `when`; returns an id for cancel() (never 0).
    u64 add(Clock::time_point when, std::function<void()> fn);
    // False when the timer already ran or was cancelled.
    bool cancel(u64 id);

private:
    void loop();

    std::mutex m_lock;
    std::condition_variable m_cv;
    std::multimap<Clock::time_point, std::pair<u64, std::function<void()>>> m_timers;
    u64 m_next_id { 1 };
    bool m_stopping { false };
    std::thread m_thread;
};

} // namespace umk::kernel
