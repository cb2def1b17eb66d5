#pragma once

// Whether other work keeps the host's CPUs busy, for the hybrid waits
// (layout.h, umk_op_page::host_busy). A sched_yield in a spin hands the
// CPU to whatever else is runnable there for the rest of its time slice:
// on an idle host that is one of umk's own threads (what the yield is
// for); on a busy one it is the other work, and a round trip then takes
// milliseconds. docs/design.md, "Waiting on a busy host".

#include "lib/types.h"

#include <optional>

namespace umk::platform {

class HostLoad {
public:
    explicit HostLoad(unsigned cpus)
        : m_cpus(cpus)
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

    // The host's CPU time spent running anything but its idle task
    // (/proc/stat: user, nice, system, irq, softirq; not iowait or
    // steal), in ns; nullopt when /proc/stat cannot be read.
    static std::optional<u64> host_busy_ns();

private:
    // Busy: the CPU time others used over `wall_ns` (the host's less
    // ours) is at least half a CPU and leaves umk less than one and a
    // half of the host's CPUs.
    bool busy(u64 wall_ns, u64 host_busy_ns, u64 ours_ns) const;

    unsigned m_cpus;
    bool m_have_previous { false };
    u64 m_now { 0 }, m_host { 0 }, m_ours { 0 };
};

} // namespace umk::platform
