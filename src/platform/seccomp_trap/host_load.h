#pragma once

// Whether other work keeps the host's CPUs busy, for the hybrid waits
// (layout.h, umk_op_page::host_busy). A sched_yield in a spin hands the
// CPU to whatever else is runnable there for the rest of its time slice:
// on an idle host that is one of umk's own threads (what the yield is
// for); on a busy one it is the other work, and a round trip then takes
// milliseconds. docs/design.md, "Waiting on a busy host".

#include "lib/types.h"

#include <optional>
#include <vector>

namespace umk::platform {

class HostLoad {
public:
    // Judges how busy `cpus` (host CPU numbers) are.
    explicit HostLoad(std::vector<unsigned> cpus)
        : m_cpus(std::move(cpus))
    {
    }

    // How often the monitor samples: a judgement over a shorter stretch
    // would rest on too few of /proc/stat's ticks (10 ms each).
    static constexpr u64 kIntervalNs = 50'000'000;

    // A new sample: the host's busy CPU time (host_busy_ns) and umk's own
    // (this process and its stubs, exited ones included) so far, at
    // `now_ns`. Whether the host is busy, judged over the time since the
    // previous sample; nullopt when it cannot say yet.
    std::optional<bool> sample(u64 now_ns, u64 host_busy_ns, u64 ours_ns);

    // The CPUs this process may run on (its affinity mask): those umk's
    // threads compete for.
    static std::vector<unsigned> usable_cpus();

    // The time those CPUs spent running anything but their idle task
    // (/proc/stat's cpuN lines: user, nice, system, irq, softirq; not
    // iowait or steal), in ns; nullopt when /proc/stat cannot be read.
    std::optional<u64> host_busy_ns() const;

private:
    // Busy: the CPU time others used over `wall_ns` (the CPUs' less
    // ours) is at least half a CPU and leaves umk less than one and a
    // half of them.
    bool busy(u64 wall_ns, u64 host_busy_ns, u64 ours_ns) const;

    std::vector<unsigned> m_cpus;
    bool m_have_previous { false };
    u64 m_now { 0 }, m_host { 0 }, m_ours { 0 };
};

} // namespace umk::platform
