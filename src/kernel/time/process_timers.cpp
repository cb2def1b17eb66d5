#include "kernel/time/process_timers.h"

#include "kernel/kernel.h"

namespace umk::kernel {

namespace {

using Steady = std::chrono::steady_clock;

u64 cpu_now(Process& p)
{
    auto u = p.cpu_usage();
    return u.user_ns + u.system_ns;
}

} // namespace

std::chrono::nanoseconds ProcessTimers::left_locked(Process& p, const KernelTimer& t)
{
    if (!t.armed)
        return {};
    std::chrono::nanoseconds left;
    if (t.cpu) {
        u64 now = cpu_now(p);
        left = std::chrono::nanoseconds(t.cpu_deadline > now ? t.cpu_deadline - now : 0);
    } else {
        left = t.wall_deadline - Steady::now();
    }
    // An armed timer never reads as 0 (that would mean disarmed).
    return std::max(left, std::chrono::nanoseconds(1));
}

std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds> ProcessTimers::get(Process& p, int key)
{
    std::lock_guard lock(m_lock);
    auto it = m_timers.find(key);
    if (it == m_timers.end())
        return {};
    return { left_locked(p, it->second), it->second.interval };
}

std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds> ProcessTimers::set(Kernel& k, Process& p, int key,
                                                                                 std::chrono::nanoseconds value,
                                                                                 std::chrono::nanoseconds interval)
{
    std::lock_guard lock(m_lock);
    // A POSIX timer deleted meanwhile stays deleted (no phantom revival).
    if (key >= 0 && !m_timers.contains(key))
        return {};
    auto& t = m_timers[key];
    if (key < 0) {
        // The interval timers' fixed signals and clocks.
        static constexpr int kSignals[] = { kSigAlrm, kSigVtalrm, kSigProf };
        t.cpu = key != kItimerReal;
        t.info = make_siginfo(kSignals[-key - 1], kSiKernel);
    }
    std::pair old { left_locked(p, t), t.interval };
    if (t.service_id)
        k.timers().cancel(t.service_id);
    t.generation++;
    t.armed = value.count() > 0;
    t.interval = interval;
    t.overrun = 0;
    if (t.armed) {
        if (t.cpu)
            t.cpu_deadline = cpu_now(p) + static_cast<u64>(value.count());
        else
            t.wall_deadline = Steady::now() + value;
        arm_locked(k, p, key);
    }
    return old;
}

void ProcessTimers::arm_locked(Kernel& k, Process& p, int key)
{
    auto& t = m_timers[key];
    u64 generation = t.generation;
    auto when = t.cpu ? Steady::now() + kCpuTick : t.wall_deadline;
    RefPtr<Process> keep(&p);
    t.service_id = k.timers().add(when, [this, &k, keep, key, generation] { fire(k, *keep, key, generation); });
}

void ProcessTimers::fire(Kernel& k, Process& p, int key, u64 generation)
{
    std::optional<abi::Siginfo> send;
    int tid = 0;
    {
        std::lock_guard lock(m_lock);
        auto it = m_timers.find(key);
        if (it == m_timers.end() || it->second.generation != generation || !it->second.armed)
            return;
        auto& t = it->second;
        if (t.cpu && cpu_now(p) < t.cpu_deadline) {
            arm_locked(k, p, key); // not yet: look again next tick
            return;
        }
        // Expirations missed since the last look count as overruns, and
        // so does every one while the signal is still queued.
        int missed = 0;
        if (t.interval.count() > 0) {
            if (t.cpu) {
                u64 now = cpu_now(p), step = static_cast<u64>(t.interval.count());
                t.cpu_deadline += step;
                while (t.cpu_deadline <= now) {
                    t.cpu_deadline += step;
                    missed++;
                }
            } else {
                auto now = Steady::now();
                t.wall_deadline += t.interval;
                while (t.wall_deadline <= now) {
                    t.wall_deadline += t.interval;
                    missed++;
                }
            }
            arm_locked(k, p, key);
        } else {
            t.armed = false;
        }
        if (t.notify) {
            if (key >= 0 && t.queued) {
                t.overrun += 1 + missed;
            } else {
                t.overrun += missed;
                t.queued = key >= 0;
                send = t.info;
                tid = t.tid;
            }
        }
    }
    if (send && !p.zombie_unlocked())
        p.send_signal(*send, tid);
}

KResult<int> ProcessTimers::create(const KernelTimer& model)
{
    std::lock_guard lock(m_lock);
    if (m_timers.size() >= 4096)
        return err(Errno::AGAIN);
    // The lowest free id (Linux reuses ids too); never the interval
    // timers' negative keys.
    int id = 0;
    while (m_timers.contains(id))
        id++;
    auto& t = m_timers[id];
    t = model;
    t.info.timer.tid = id;
    if (t.value_is_id)
        t.info.timer.value = static_cast<u64>(id);
    return id;
}

bool ProcessTimers::exists(int id)
{
    std::lock_guard lock(m_lock);
    return id >= 0 && m_timers.contains(id);
}

int ProcessTimers::clock_of(int id)
{
    std::lock_guard lock(m_lock);
    auto it = m_timers.find(id);
    return it == m_timers.end() ? 0 : it->second.clock;
}

KResult<void> ProcessTimers::remove(Kernel& k, int id)
{
    std::lock_guard lock(m_lock);
    auto it = m_timers.find(id);
    if (id < 0 || it == m_timers.end())
        return err(Errno::INVAL);
    if (it->second.service_id)
        k.timers().cancel(it->second.service_id);
    m_timers.erase(it);
    return {};
}

KResult<int> ProcessTimers::overrun(int id)
{
    std::lock_guard lock(m_lock);
    auto it = m_timers.find(id);
    if (id < 0 || it == m_timers.end())
        return err(Errno::INVAL);
    return it->second.overrun_last;
}

void ProcessTimers::dequeued(abi::Siginfo& info)
{
    std::lock_guard lock(m_lock);
    auto it = m_timers.find(info.timer.tid);
    if (it == m_timers.end())
        return;
    auto& t = it->second;
    t.queued = false;
    t.overrun_last = t.overrun;
    t.overrun = 0;
    info.timer.overrun = t.overrun_last;
}

void ProcessTimers::cancel_all(Kernel& k, bool posix_only)
{
    std::lock_guard lock(m_lock);
    for (auto it = m_timers.begin(); it != m_timers.end();) {
        if (posix_only && it->first < 0) {
            ++it;
            continue;
        }
        if (it->second.service_id)
            k.timers().cancel(it->second.service_id);
        it = m_timers.erase(it);
    }
}

} // namespace umk::kernel
