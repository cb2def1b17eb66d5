#pragma once

// A process's timers: the interval timers (setitimer: ITIMER_REAL on the
// wall clock, ITIMER_VIRTUAL and ITIMER_PROF on its CPU time) and POSIX
// timers (timer_create). Wall-clock timers run on the kernel's
// TimerService; CPU-time timers look at the process's CPU time every
// kCpuTick. Linux: kernel/time/itimer.c, posix-timers.c, posix-cpu-timers.c.

#include "kernel/abi/linux.h"
#include "lib/kresult.h"

#include <chrono>
#include <map>
#include <mutex>

namespace umk::kernel {

class Kernel;
class Process;

struct KernelTimer {
    bool cpu { false };                    // deadline in CPU time, else on the steady clock
    std::chrono::steady_clock::time_point wall_deadline;
    u64 cpu_deadline { 0 };                // ns of process CPU time
    std::chrono::nanoseconds interval { 0 };
    bool armed { false };
    u64 generation { 0 };                  // retires callbacks of replaced settings
    u64 service_id { 0 };
    // Firing: this signal (none for SIGEV_NONE), to thread `tid` or the process.
    bool notify { true };
    abi::Siginfo info {};
    int tid { 0 };
    int clock { 0 };                       // POSIX timers: the clock asked for
    int overrun { 0 };                     // expirations since the signal was queued
    int overrun_last { 0 };                // what the last delivered signal said
    bool queued { false };                 // its signal is pending (one at a time)
    bool value_is_id { false };            // no sigevent: si_value is the timer id
};

class ProcessTimers {
public:
    // The keys of the three interval timers; POSIX timer ids are >= 0.
    static constexpr int kItimerReal = -1, kItimerVirtual = -2, kItimerProf = -3;
    static constexpr auto kCpuTick = std::chrono::milliseconds(10);

    // Arms (value > 0) or disarms timer `key` of `process`; returns the
    // time that was left and the old interval.
    std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds> set(Kernel&, Process&, int key,
                                                                      std::chrono::nanoseconds value,
                                                                      std::chrono::nanoseconds interval);
    std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds> get(Process&, int key);
    // POSIX timers.
    KResult<int> create(const KernelTimer& model);
    bool exists(int id);
    int clock_of(int id);
    KResult<void> remove(Kernel&, int id);
    KResult<int> overrun(int id);
    // A POSIX timer's signal left the queue: it carries the overruns
    // counted meanwhile (Linux's posixtimer_rearm, it_overrun_last).
    void dequeued(abi::Siginfo&);
    // The process ended or exec'd: every timer (exec: POSIX ones only) goes.
    void cancel_all(Kernel&, bool posix_only);

private:
    void arm_locked(Kernel&, Process&, int key);
    void fire(Kernel&, Process&, int key, u64 generation);
    std::chrono::nanoseconds left_locked(Process&, const KernelTimer&);

    std::mutex m_lock;
    std::map<int, KernelTimer> m_timers;
};

} // namespace umk::kernel
