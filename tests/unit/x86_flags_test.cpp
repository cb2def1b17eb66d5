// The kernel's `cmp` (umk::abi::compare_flags, for a thread that faulted at a
// patched read site's `cmp $-4096,%rax`) against the CPU's own.
#include "kernel/abi/x86_flags.h"

#include <gtest/gtest.h>

#include <random>

namespace {

using namespace umk;

u64 cpu_compare_flags(u64 rflags_in, u64 a)
{
    u64 out;
    // Past the red zone; DF (one of the inputs) cleared again after.
    asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[in]\n\tpopfq\n\tcmp $-4096, %[a]\n\tpushfq\n\tpop %[out]\n\t"
                 "cld\n\tlea 128(%%rsp), %%rsp"
                 : [out] "=r"(out)
                 : [in] "r"(rflags_in), [a] "r"(a)
                 : "cc");
    return out;
}

TEST(X86Flags, CompareWithMinus4096MatchesTheCpu)
{
    std::mt19937_64 random(42);
    std::vector<u64> values { 0, 1, 0xfff, 0x1000, 0x7fffffffffffffff, 0x8000000000000000, ~u64 { 0 },
                              ~u64 { 0xfff }, ~u64 { 0xffe }, ~u64 { 0x1000 }, static_cast<u64>(-4) /* -EINTR */,
                              static_cast<u64>(-14), 0x7ffffffff000, 0x0f, 0x10, 0xf000 };
    for (int i = 0; i < 20000; i++)
        values.push_back(random() >> (random() % 64));
    for (u64 a : values) {
        for (u64 in : { u64 { 0x202 }, u64 { 0x202 } | umk::abi::kArithmeticFlags, u64 { 0x602 } }) {
            SCOPED_TRACE(a);
            EXPECT_EQ(umk::abi::compare_flags(in, a, ~u64 { 0xfff }), cpu_compare_flags(in, a));
        }
    }
}

} // namespace
