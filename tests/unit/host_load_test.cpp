#include "platform/seccomp_trap/host_load.h"

#include <gtest/gtest.h>

namespace umk::platform {
namespace {

constexpr u64 kMs = 1'000'000;

TEST(HostLoad, JudgesOnlyFromTheSecondSampleOn)
{
    HostLoad load({ 0, 1 });
    EXPECT_EQ(load.sample(1000 * kMs, 500 * kMs, 0), std::nullopt);
    EXPECT_EQ(load.sample(1050 * kMs, 550 * kMs, 0), std::optional(true));
}

TEST(HostLoad, OthersUsingHalfOfTwoCpusIsBusy)
{
    HostLoad load({ 0, 1 });
    load.sample(0, 0, 0);
    // 100 ms: the host ran 150 ms of work, 90 of it ours: 0.6 CPU of others.
    EXPECT_EQ(load.sample(100 * kMs, 150 * kMs, 90 * kMs), std::optional(true));
    // Then 100 ms of which ours 95: 0.05 CPU of others.
    EXPECT_EQ(load.sample(200 * kMs, 250 * kMs, 185 * kMs), std::optional(false));
}

TEST(HostLoad, ManyCpusLeftAreNotBusy)
{
    HostLoad load({ 0, 1, 2, 3, 4, 5, 6, 7 });
    load.sample(0, 0, 0);
    // Others use 4 of 8 CPUs: four are left.
    EXPECT_EQ(load.sample(100 * kMs, 400 * kMs, 0), std::optional(false));
    // Others use 7: one is left.
    EXPECT_EQ(load.sample(200 * kMs, 1100 * kMs, 0), std::optional(true));
}

TEST(HostLoad, NoJudgementOverAShortStretchOrWhenACounterGoesBack)
{
    HostLoad load({ 0, 1 });
    load.sample(0, 0, 0);
    EXPECT_EQ(load.sample(10 * kMs, 10 * kMs, 0), std::nullopt); // too short
    // Ours went back (a stub's time between the live and the exited ones).
    EXPECT_EQ(load.sample(100 * kMs, 100 * kMs, 40 * kMs), std::optional(true));
    EXPECT_EQ(load.sample(200 * kMs, 200 * kMs, 30 * kMs), std::nullopt);
    // Judged again from there: the host's time was all ours.
    EXPECT_EQ(load.sample(300 * kMs, 300 * kMs, 130 * kMs), std::optional(false));
}

TEST(HostLoad, ReadsTheHostsBusyTime)
{
    auto busy = HostLoad(HostLoad::usable_cpus()).host_busy_ns();
    ASSERT_TRUE(busy.has_value());
    EXPECT_GT(*busy, 0u);
    // Only the CPUs it judges: none of them on the host, nothing to say.
    EXPECT_EQ(HostLoad({ 100000 }).host_busy_ns(), std::nullopt);
}

} // namespace
} // namespace umk::platform
