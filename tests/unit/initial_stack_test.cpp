// Initial stack layout, checked by walking the produced bytes the way a libc
// _start / ld.so does.

#include "kernel/exec/initial_stack.h"

#include "kernel/abi/auxv.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace umk::exec {
namespace {

constexpr u64 kStackTop = 0x7ffffffde000;
constexpr std::array<u8, 16> kRandom = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
                                         5, 6, 7, 8, 9, 10, 11, 0x42 };

// Reads guest memory out of the produced image.
struct StackView {
    const InitialStack& stack;
    u64 top;

    bool contains(u64 addr, u64 len) const
    {
        return addr >= stack.sp && addr <= top && len <= top - addr;
    }
    u64 u64_at(u64 addr) const
    {
        EXPECT_TRUE(contains(addr, 8)) << std::hex << addr;
        if (!contains(addr, 8))
            return 0;
        u64 v;
        std::memcpy(&v, stack.bytes.data() + (addr - stack.sp), 8);
        return v;
    }
    std::string string_at(u64 addr) const
    {
        EXPECT_TRUE(contains(addr, 1)) << std::hex << addr;
        std::string s;
        while (contains(addr, 1)) {
            char c = static_cast<char>(stack.bytes[addr - stack.sp]);
            if (c == '\0')
                return s;
            s += c;
            ++addr;
        }
        ADD_FAILURE() << "unterminated string";
        return s;
    }
};

struct Walked {
    u64 argc;
    std::vector<std::string> argv;
    std::vector<u64> argv_ptrs;
    std::vector<std::string> envp;
    std::vector<u64> envp_ptrs;
    std::vector<AuxEntry> auxv;  // AT_NULL included
    std::map<u64, u64> aux_map;
};

Walked walk(const InitialStack& stack, u64 top)
{
    StackView view { stack, top };
    Walked w;
    u64 p = stack.sp;
    w.argc = view.u64_at(p);
    p += 8;
    EXPECT_EQ(p, stack.argv_addr);
    for (u64 i = 0; i < w.argc; ++i, p += 8) {
        w.argv_ptrs.push_back(view.u64_at(p));
        w.argv.push_back(view.string_at(w.argv_ptrs.back()));
    }
    EXPECT_EQ(view.u64_at(p), 0u) << "argv not NULL-terminated";
    p += 8;
    EXPECT_EQ(p, stack.envp_addr);
    for (u64 v; (v = view.u64_at(p)) != 0; p += 8) {
        w.envp_ptrs.push_back(v);
        w.envp.push_back(view.string_at(v));
    }
    p += 8;
    EXPECT_EQ(p, stack.auxv_addr);
    for (;; p += 16) {
        AuxEntry e { view.u64_at(p), view.u64_at(p + 8) };
        w.auxv.push_back(e);
        if (e.type == abi::kAtNull)
            break;
        EXPECT_FALSE(w.aux_map.contains(e.type)) << "duplicate auxv type " << e.type;
        w.aux_map[e.type] = e.value;
    }
    return w;
}

std::vector<AuxEntry> linux_like_aux()
{
    return {
        { abi::kAtSysinfoEhdr, 0x7ffff7fc1000 },
        { abi::kAtMinsigstksz, 3632 },
        { abi::kAtHwcap, 0x178bfbff },
        { abi::kAtPagesz, 4096 },
        { abi::kAtClktck, 100 },
        { abi::kAtPhdr, 0x555555554040 },
        { abi::kAtPhent, 56 },
        { abi::kAtPhnum, 13 },
        { abi::kAtBase, 0x7ffff7fc3000 },
        { abi::kAtFlags, 0 },
        { abi::kAtEntry, 0x5555555563d0 },
        { abi::kAtUid, 1000 },
        { abi::kAtEuid, 1000 },
        { abi::kAtGid, 1000 },
        { abi::kAtEgid, 1000 },
        { abi::kAtSecure, 0 },
        { abi::kAtHwcap2, 2 },
        { abi::kAtRseqFeatureSize, 28 },
        { abi::kAtRseqAlign, 32 },
    };
}

TEST(InitialStack, LayoutMatchesLinux)
{
    std::vector<std::string> argv = { "/bin/true", "--version", "" };
    std::vector<std::string> envp = { "PATH=/usr/bin:/bin", "HOME=/root" };
    auto aux = linux_like_aux();
    auto stack = build_initial_stack(kStackTop, argv, envp, aux, "/usr/bin/true", kRandom, 8 << 20);
    ASSERT_TRUE(stack) << errno_name(stack.error());

    EXPECT_EQ(stack->sp % 16, 0u);
    EXPECT_EQ(stack->bytes.size(), kStackTop - stack->sp);

    Walked w = walk(*stack, kStackTop);
    EXPECT_EQ(w.argc, 3u);
    EXPECT_EQ(w.argv, argv);
    EXPECT_EQ(w.envp, envp);

    // auxv: the caller's entries in order, with AT_RANDOM after AT_SECURE and
    // AT_EXECFN, AT_PLATFORM after AT_HWCAP2, then AT_NULL.
    std::vector<u64> types;
    for (auto const& e : w.auxv)
        types.push_back(e.type);
    std::vector<u64> expected = {
        abi::kAtSysinfoEhdr, abi::kAtMinsigstksz, abi::kAtHwcap, abi::kAtPagesz, abi::kAtClktck,
        abi::kAtPhdr, abi::kAtPhent, abi::kAtPhnum, abi::kAtBase, abi::kAtFlags, abi::kAtEntry,
        abi::kAtUid, abi::kAtEuid, abi::kAtGid, abi::kAtEgid, abi::kAtSecure, abi::kAtRandom,
        abi::kAtHwcap2, abi::kAtExecfn, abi::kAtPlatform, abi::kAtRseqFeatureSize,
        abi::kAtRseqAlign, abi::kAtNull,
    };
    EXPECT_EQ(types, expected);
    for (auto const& e : aux)
        EXPECT_EQ(w.aux_map[e.type], e.value);
    EXPECT_EQ(w.auxv.back().value, 0u);

    StackView view { *stack, kStackTop };
    u64 const random = w.aux_map[abi::kAtRandom];
    ASSERT_TRUE(view.contains(random, 16));
    EXPECT_EQ(std::memcmp(stack->bytes.data() + (random - stack->sp), kRandom.data(), 16), 0);
    EXPECT_EQ(view.string_at(w.aux_map[abi::kAtPlatform]), "x86_64");
    EXPECT_EQ(view.string_at(w.aux_map[abi::kAtExecfn]), "/usr/bin/true");

    // Top down: 8 zero bytes, execfn, envp strings, argv strings (packed).
    u64 const execfn = w.aux_map[abi::kAtExecfn];
    EXPECT_EQ(execfn, kStackTop - 8 - (std::strlen("/usr/bin/true") + 1));
    EXPECT_EQ(view.u64_at(kStackTop - 8), 0u);
    u64 expect_addr = stack->arg_start;
    for (usize i = 0; i < argv.size(); ++i) {
        EXPECT_EQ(w.argv_ptrs[i], expect_addr);
        expect_addr += argv[i].size() + 1;
    }
    EXPECT_EQ(stack->arg_end, expect_addr);
    EXPECT_EQ(stack->env_start, expect_addr);
    for (usize i = 0; i < envp.size(); ++i) {
        EXPECT_EQ(w.envp_ptrs[i], expect_addr);
        expect_addr += envp[i].size() + 1;
    }
    EXPECT_EQ(stack->env_end, expect_addr);
    EXPECT_EQ(expect_addr, execfn);

    // Below the strings: 16-byte alignment, then platform, then random bytes.
    u64 const aligned = stack->arg_start & ~u64 { 15 };
    EXPECT_EQ(w.aux_map[abi::kAtPlatform], aligned - 7);
    EXPECT_EQ(random, aligned - 7 - 16);
    // Then the tables, with sp the highest 16-aligned address that fits them.
    u64 const tables = 8 * ((1 + 3 + 1 + 2 + 1) + 2 * w.auxv.size());
    EXPECT_EQ(stack->sp, (random - tables) & ~u64 { 15 });
    EXPECT_LE(stack->auxv_addr + 16 * w.auxv.size(), random);
}

TEST(InitialStack, AnchorsMissing)
{
    std::vector<std::string> argv = { "a" };
    std::vector<AuxEntry> aux = { { abi::kAtPagesz, 4096 } };
    auto stack = build_initial_stack(kStackTop, argv, {}, aux, "a", kRandom, 8 << 20);
    ASSERT_TRUE(stack) << errno_name(stack.error());
    Walked w = walk(*stack, kStackTop);
    std::vector<u64> types;
    for (auto const& e : w.auxv)
        types.push_back(e.type);
    EXPECT_EQ(types, (std::vector<u64> { abi::kAtPagesz, abi::kAtRandom, abi::kAtExecfn,
                                         abi::kAtPlatform, abi::kAtNull }));
    EXPECT_TRUE(w.envp.empty());
}

TEST(InitialStack, SecureWithoutHwcap2)
{
    std::vector<std::string> argv = { "a" };
    std::vector<AuxEntry> aux = { { abi::kAtSecure, 1 }, { abi::kAtRseqAlign, 32 } };
    auto stack = build_initial_stack(kStackTop, argv, {}, aux, "a", kRandom, 8 << 20);
    ASSERT_TRUE(stack);
    Walked w = walk(*stack, kStackTop);
    std::vector<u64> types;
    for (auto const& e : w.auxv)
        types.push_back(e.type);
    EXPECT_EQ(types, (std::vector<u64> { abi::kAtSecure, abi::kAtRandom, abi::kAtExecfn,
                                         abi::kAtPlatform, abi::kAtRseqAlign, abi::kAtNull }));
}

TEST(InitialStack, AlignmentForEveryParity)
{
    // Vary the counts and string lengths so every padding case is hit.
    for (usize argc = 0; argc < 4; ++argc) {
        for (usize envc = 0; envc < 3; ++envc) {
            for (usize len = 0; len < 17; ++len) {
                std::vector<std::string> argv(argc, std::string(len, 'a'));
                std::vector<std::string> envp(envc, std::string(len + 1, 'e'));
                auto stack = build_initial_stack(kStackTop, argv, envp, linux_like_aux(),
                                                 std::string(len, 'f'), kRandom, 8 << 20);
                ASSERT_TRUE(stack);
                EXPECT_EQ(stack->sp % 16, 0u);
                Walked w = walk(*stack, kStackTop);
                if (argc == 0) {
                    // do_execveat_common adds "" so argc is never 0.
                    EXPECT_EQ(w.argc, 1u);
                    EXPECT_EQ(w.argv, std::vector<std::string> { "" });
                } else {
                    EXPECT_EQ(w.argv, argv);
                }
                EXPECT_EQ(w.envp, envp);
                u64 const gap = w.aux_map[abi::kAtRandom] - (stack->auxv_addr + 16 * w.auxv.size());
                EXPECT_LT(gap, 16u);
            }
        }
    }
}

TEST(InitialStack, StringsCutAtNul)
{
    std::vector<std::string> argv = { std::string("ab\0cd", 5) };
    auto stack = build_initial_stack(kStackTop, argv, {}, {}, std::string_view("x\0y", 3), kRandom, 8 << 20);
    ASSERT_TRUE(stack);
    Walked w = walk(*stack, kStackTop);
    EXPECT_EQ(w.argv, std::vector<std::string> { "ab" });
    EXPECT_EQ(stack->env_end, kStackTop - 8 - 2);
}

TEST(InitialStack, PerStringLimit)
{
    std::vector<std::string> ok = { std::string(kMaxArgStrlen - 1, 'a') };
    EXPECT_TRUE(build_initial_stack(kStackTop, ok, {}, {}, "x", kRandom, 8 << 20));
    std::vector<std::string> too_long = { std::string(kMaxArgStrlen, 'a') };
    EXPECT_EQ(build_initial_stack(kStackTop, too_long, {}, {}, "x", kRandom, 8 << 20).error(),
              Errno::TOOBIG);
    EXPECT_EQ(build_initial_stack(kStackTop, {}, too_long, {}, "x", kRandom, 8 << 20).error(),
              Errno::TOOBIG);
    EXPECT_EQ(build_initial_stack(kStackTop, {}, {}, {}, too_long[0], kRandom, 8 << 20).error(),
              Errno::TOOBIG);
}

TEST(InitialStack, TotalLimit)
{
    // 8 MiB rlimit: 2 MiB budget. 16 strings of 128 KiB (NUL included) =
    // exactly 2 MiB, which leaves no room for the pointers and execfn.
    std::vector<std::string> big(16, std::string(kMaxArgStrlen - 1, 'a'));
    EXPECT_EQ(build_initial_stack(kStackTop, big, {}, {}, "x", kRandom, 8 << 20).error(), Errno::TOOBIG);
    big.pop_back();
    auto stack = build_initial_stack(kStackTop, big, {}, {}, "x", kRandom, 8 << 20);
    ASSERT_TRUE(stack) << errno_name(stack.error());
    EXPECT_EQ(walk(*stack, kStackTop).argc, 15u);

    // Exact boundary: budget = 2 MiB - 8 * (argc + envc).
    u64 const budget = (8u << 20) / 4 - 8 * 2;
    u64 const execfn_len = 1 + 1;  // "x"
    std::vector<std::string> edge = { std::string(kMaxArgStrlen - 1, 'b'), "" };
    u64 used = execfn_len + kMaxArgStrlen + 1;
    std::vector<std::string> env;
    u64 remaining = budget - used;
    while (remaining > kMaxArgStrlen) {  // fill with max-size strings
        env.push_back(std::string(kMaxArgStrlen - 1, 'e'));
        remaining -= kMaxArgStrlen;
    }
    // Pointers for env grow the accounting too: recompute precisely.
    u64 const ptrs = 8 * (edge.size() + env.size() + 1);
    u64 const exact_budget = (8u << 20) / 4 - ptrs;
    u64 const so_far = execfn_len + kMaxArgStrlen + 1 + env.size() * kMaxArgStrlen;
    ASSERT_GT(exact_budget, so_far);
    env.push_back(std::string(exact_budget - so_far - 1, 'z'));  // fills the budget exactly
    EXPECT_TRUE(build_initial_stack(kStackTop, edge, env, {}, "x", kRandom, 8 << 20));
    env.back().push_back('z');
    EXPECT_EQ(build_initial_stack(kStackTop, edge, env, {}, "x", kRandom, 8 << 20).error(), Errno::TOOBIG);
}

TEST(InitialStack, LimitFloorAndCeiling)
{
    // A tiny RLIMIT_STACK still allows ARG_MAX (32 pages) of strings:
    // budget = kArgMax - 2 pointers; execfn "x" takes 2 bytes.
    u64 const budget = kArgMax - 2 * 8 - 2;
    std::vector<std::string> argv = { std::string(65536, 'a'), std::string(budget - 65537 - 1, 'b') };
    EXPECT_TRUE(build_initial_stack(kStackTop, argv, {}, {}, "x", kRandom, 0));
    argv[1].push_back('b');
    EXPECT_EQ(build_initial_stack(kStackTop, argv, {}, {}, "x", kRandom, 0).error(), Errno::TOOBIG);

    // RLIM_INFINITY is capped at 3/4 of _STK_LIM = 6 MiB.
    std::vector<std::string> big(48, std::string(kMaxArgStrlen - 1, 'a'));  // exactly 6 MiB
    EXPECT_EQ(build_initial_stack(kStackTop, big, {}, {}, "x", kRandom, ~u64 { 0 }).error(), Errno::TOOBIG);
    big.pop_back();
    EXPECT_TRUE(build_initial_stack(kStackTop, big, {}, {}, "x", kRandom, ~u64 { 0 }));
}

TEST(InitialStack, BadArguments)
{
    std::vector<std::string> argv = { "a" };
    EXPECT_EQ(build_initial_stack(kStackTop + 8, argv, {}, {}, "a", kRandom, 8 << 20).error(), Errno::INVAL);
    std::vector<AuxEntry> with_random = { { abi::kAtRandom, 0 } };
    EXPECT_EQ(build_initial_stack(kStackTop, argv, {}, with_random, "a", kRandom, 8 << 20).error(),
              Errno::INVAL);
    std::vector<AuxEntry> with_null = { { abi::kAtNull, 0 } };
    EXPECT_EQ(build_initial_stack(kStackTop, argv, {}, with_null, "a", kRandom, 8 << 20).error(),
              Errno::INVAL);
    // A stack top too low for the strings themselves.
    EXPECT_EQ(build_initial_stack(kPageSize, argv, {}, {}, "a", kRandom, 8 << 20).error(), Errno::TOOBIG);
}

} // namespace
} // namespace umk::exec
