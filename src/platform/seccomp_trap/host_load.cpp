#include "platform/seccomp_trap/host_load.h"

#include "host/files.h"

#include <algorithm>
#include <sstream>
#include <unistd.h>

namespace umk::platform {

std::optional<bool> HostLoad::sample(u64 now_ns, u64 host_busy_ns, u64 ours_ns)
{
    // A short stretch counts with the next one.
    if (m_have_previous && now_ns < m_now + kIntervalNs / 2)
        return std::nullopt;
    // Ours goes back for a moment when a stub's time moves from the
    // live ones to the exited ones: no judgement over such a stretch.
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
    return others >= 50 && others + 150 > u64 { m_cpus } * 100;
}

std::optional<u64> HostLoad::host_busy_ns()
{
    auto text = host::read_proc_file("stat");
    if (!text)
        return std::nullopt;
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    std::istringstream in(*text);
    std::string label;
    u64 user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
    if (!(in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq) || label != "cpu")
        return std::nullopt;
    static const u64 tick_ns = 1'000'000'000 / static_cast<u64>(std::max(1L, sysconf(_SC_CLK_TCK)));
    return (user + nice + system + irq + softirq) * tick_ns;
}

} // namespace umk::platform
