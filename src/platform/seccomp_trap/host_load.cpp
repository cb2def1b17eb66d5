#include "platform/seccomp_trap/host_load.h"

#include "host/files.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <sched.h>
#include <unistd.h>

namespace umk::platform {

std::optional<bool> HostLoad::sample(u64 now_ns, u64 host_busy_ns, u64 ours_ns)
{
    // A short stretch counts with the next one.
    if (m_have_previous && now_ns < m_now + kIntervalNs / 2)
        return std::nullopt;
    // A counter that goes back (a stub whose time was lost between
    // samples, a host counter reset): no judgement over such a stretch.
    bool comparable = m_have_previous && host_busy_ns >= m_host && ours_ns >= m_ours;
    u64 wall = now_ns - m_now, host = host_busy_ns - m_host, ours = ours_ns - m_ours;
    m_have_previous = true;
    m_now = now_ns;
    m_host = host_busy_ns;
    m_ours = ours_ns;
    if (!comparable)
        return std::nullopt;
    return busy(wall, host, ours);
}

bool HostLoad::busy(u64 wall_ns, u64 host_busy_ns, u64 ours_ns) const
{
    if (wall_ns == 0)
        return false;
    // In hundredths of a CPU.
    u64 others = host_busy_ns > ours_ns ? (host_busy_ns - ours_ns) * 100 / wall_ns : 0;
    return others >= 50 && others + 150 > m_cpus.size() * 100;
}

std::vector<unsigned> HostLoad::usable_cpus()
{
    cpu_set_t set;
    std::vector<unsigned> cpus;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &set))
                cpus.push_back(cpu);
    return cpus;
}

std::optional<u64> HostLoad::host_busy_ns() const
{
    auto text = host::read_proc_file("stat");
    if (!text)
        return std::nullopt;
    static const u64 tick_ns = 1'000'000'000 / static_cast<u64>(std::max(1L, sysconf(_SC_CLK_TCK)));
    // cpuN user nice system idle iowait irq softirq steal guest guest_nice
    std::istringstream in(*text);
    std::string line;
    u64 busy = 0;
    usize found = 0;
    while (std::getline(in, line)) {
        unsigned cpu = 0;
        u64 user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
        if (std::sscanf(line.c_str(), "cpu%u %lu %lu %lu %lu %lu %lu %lu", &cpu, &user, &nice, &system, &idle, &iowait,
                        &irq, &softirq) != 8
            || std::find(m_cpus.begin(), m_cpus.end(), cpu) == m_cpus.end())
            continue;
        busy += (user + nice + system + irq + softirq) * tick_ns;
        found++;
    }
    if (found == 0)
        return std::nullopt;
    return busy;
}

} // namespace umk::platform
