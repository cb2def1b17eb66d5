// umk_cpu (platform/seccomp_trap/layout.h), which the stub and the kernel
// use to tell whether they wait on the same CPU: both of its ways against
// the host's own answer, on every CPU this process may run on.
#include "platform/seccomp_trap/layout.h"

#include <gtest/gtest.h>

#include <cpuid.h>
#include <sched.h>

namespace {

void expect_on_every_allowed_cpu(uint32_t rdpid)
{
    cpu_set_t allowed;
    ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int checked = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
        EXPECT_EQ(umk_cpu(rdpid), static_cast<uint32_t>(cpu));
        EXPECT_EQ(sched_getcpu(), cpu);
        checked++;
    }
    ASSERT_EQ(sched_setaffinity(0, sizeof allowed, &allowed), 0);
    EXPECT_GT(checked, 0);
}

TEST(CpuNumber, ByTheGdtMatchesTheHost)
{
    expect_on_every_allowed_cpu(0);
}

TEST(CpuNumber, ByRdpidMatchesTheHost)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & bit_RDPID))
        GTEST_SKIP() << "this CPU has no RDPID";
    expect_on_every_allowed_cpu(1);
}

} // namespace
