#include "platform/seccomp_trap/host_load.h"

#include "host/files.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
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
    // The monitor's thread: no heap (host::read_proc_prefix). The cpuN
    // lines come first; 32 KiB holds those of some 300 CPUs.
    char text[32 * 1024];
    auto got = host::read_proc_prefix("stat", std::span(text, sizeof text - 1));
    if (!got)
        return std::nullopt;
    text[*got] = 0;
    static const u64 tick_ns = 1'000'000'000 / static_cast<u64>(std::max(1L, sysconf(_SC_CLK_TCK)));
    u64 busy = 0;
    usize found = 0;
    // cpuN user nice system idle iowait irq softirq steal guest guest_nice,
    // after the "cpu" line of them all. strtoull, not sscanf: the scanf
    // machinery would be libc pages this process touches for it alone.
    for (char* line = text; std::strncmp(line, "cpu", 3) == 0;) {
        char* end;
        unsigned long cpu = std::strtoul(line + 3, &end, 10);
        bool numbered = end != line + 3;
        u64 field[7];
        for (u64& f : field)
            f = std::strtoull(end, &end, 10);
        enum { kUser, kNice, kSystem, kIdle, kIowait, kIrq, kSoftirq };
        if (numbered && std::find(m_cpus.begin(), m_cpus.end(), cpu) != m_cpus.end()) {
            busy += (field[kUser] + field[kNice] + field[kSystem] + field[kIrq] + field[kSoftirq]) * tick_ns;
            found++;
        }
        char* next = std::strchr(end, '\n');
        if (!next)
            break;
        line = next + 1;
    }
    if (found == 0)
        return std::nullopt;
    return busy;
}

} // namespace umk::platform
