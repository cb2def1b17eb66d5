#include "kernel/seccomp/filter.h"

#include <gtest/gtest.h>
#include <linux/filter.h>

using namespace umk;
using namespace umk::kernel::seccomp;

namespace {

Insn stmt(u16 code, u32 k) { return { code, 0, 0, k }; }
Insn jump(u16 code, u32 k, u8 jt, u8 jf) { return { code, jt, jf, k }; }

Data data_for(int nr)
{
    Data d {};
    d.nr = nr;
    d.arch = 0xc000003e;
    return d;
}

} // namespace

TEST(SeccompFilter, ChecksLikeLinux)
{
    std::vector<Insn> ok { stmt(BPF_LD | BPF_W | BPF_ABS, 0), stmt(BPF_RET | BPF_K, kRetAllow) };
    EXPECT_TRUE(check(ok));
    // a load past seccomp_data, or unaligned
    EXPECT_FALSE(check(std::vector<Insn> { stmt(BPF_LD | BPF_W | BPF_ABS, 64), stmt(BPF_RET | BPF_K, 0) }));
    EXPECT_FALSE(check(std::vector<Insn> { stmt(BPF_LD | BPF_W | BPF_ABS, 2), stmt(BPF_RET | BPF_K, 0) }));
    // byte loads are not for seccomp
    EXPECT_FALSE(check(std::vector<Insn> { stmt(BPF_LD | BPF_B | BPF_ABS, 0), stmt(BPF_RET | BPF_K, 0) }));
    // jumps out of the program, no final return, division by zero
    EXPECT_FALSE(check(std::vector<Insn> { jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), stmt(BPF_RET | BPF_K, 0) }));
    EXPECT_FALSE(check(std::vector<Insn> { stmt(BPF_LD | BPF_IMM, 1) }));
    EXPECT_FALSE(check(std::vector<Insn> { stmt(BPF_ALU | BPF_DIV | BPF_K, 0), stmt(BPF_RET | BPF_K, 0) }));
    // a scratch word read before any store
    EXPECT_FALSE(check(std::vector<Insn> { stmt(BPF_LD | BPF_MEM, 3), stmt(BPF_RET | BPF_A, 0) }));
    EXPECT_TRUE(check(std::vector<Insn> { stmt(BPF_ST, 3), stmt(BPF_LD | BPF_MEM, 3), stmt(BPF_RET | BPF_A, 0) }));
    EXPECT_FALSE(check(std::vector<Insn> {}));
}

TEST(SeccompFilter, RunsAluJumpsAndMemory)
{
    // A = nr * 3 + 1; mem[0] = A; X = 10; A = mem[0]; return A > X ? ERRNO|A : ALLOW
    std::vector<Insn> p {
        stmt(BPF_LD | BPF_W | BPF_ABS, 0),  stmt(BPF_ALU | BPF_MUL | BPF_K, 3), stmt(BPF_ALU | BPF_ADD | BPF_K, 1),
        stmt(BPF_ST, 0),                     stmt(BPF_LDX | BPF_IMM, 10),       stmt(BPF_LD | BPF_MEM, 0),
        jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 2), stmt(BPF_ALU | BPF_OR | BPF_K, kRetErrno), stmt(BPF_RET | BPF_A, 0),
        stmt(BPF_RET | BPF_K, kRetAllow),
    };
    ASSERT_TRUE(check(p));
    EXPECT_EQ(run(p, data_for(2)), kRetAllow);       // 7 <= 10
    EXPECT_EQ(run(p, data_for(5)), kRetErrno | 16U); // 16 > 10
}

TEST(SeccompFilter, MostRestrictiveActionWins)
{
    auto older = std::make_shared<Filter>();
    older->program = { stmt(BPF_RET | BPF_K, kRetErrno | 1) };
    Filter newer;
    newer.program = { stmt(BPF_RET | BPF_K, kRetAllow) };
    newer.previous = older;
    EXPECT_EQ(run_all(newer, data_for(0)), kRetErrno | 1);
    // KILL_PROCESS (negative as s32) beats everything
    newer.program = { stmt(BPF_RET | BPF_K, kRetKillProcess) };
    EXPECT_EQ(run_all(newer, data_for(0)), kRetKillProcess);
    // among equal actions the newest filter's data
    newer.program = { stmt(BPF_RET | BPF_K, kRetErrno | 2) };
    EXPECT_EQ(run_all(newer, data_for(0)), kRetErrno | 2);
}
