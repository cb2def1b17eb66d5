// The stub's mapping between the host signal context and the thread slot
// (platform/seccomp_trap/stub/regs.h), checked against a real signal
// frame of this process: what glibc's ucontext_t says is what the slot
// must hold, and back.
#include "platform/seccomp_trap/stub/regs.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <ucontext.h>

#include <cstddef>
#include <cstring>

namespace {

static_assert(sizeof(k_sigcontext) == sizeof(mcontext_t::gregs) + 8 + 64, "struct sigcontext is 256 bytes");
static_assert(offsetof(k_ucontext, mc) == offsetof(ucontext_t, uc_mcontext));
static_assert(offsetof(k_ucontext, sigmask) == offsetof(ucontext_t, uc_sigmask));
static_assert(offsetof(k_ucontext, stack) == offsetof(ucontext_t, uc_stack));

umk_thread_slot g_slot;
ucontext_t g_seen;     // glibc's view of the frame
k_ucontext g_restored; // restore_regs' output into a copy of the frame

void handler(int, siginfo_t*, void* raw)
{
    auto* uc = static_cast<ucontext_t*>(raw);
    g_seen = *uc;
    auto* kuc = static_cast<k_ucontext*>(raw);
    save_regs(&g_slot, &kuc->mc);
    g_slot.regs[UMK_RAX] = 0x1234; // the kernel's answer
    g_restored = *kuc;
    restore_regs(&g_slot, &g_restored, 1);
}

} // namespace

TEST(StubRegisters, SignalFrameToSlotAndBack)
{
    struct sigaction sa {};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_DFL);

    const greg_t* g = g_seen.uc_mcontext.gregs;
    struct Pair {
        int slot;
        int greg;
    };
    const Pair pairs[] = {
        { UMK_R8, REG_R8 }, { UMK_R9, REG_R9 }, { UMK_R10, REG_R10 }, { UMK_R11, REG_R11 },
        { UMK_R12, REG_R12 }, { UMK_R13, REG_R13 }, { UMK_R14, REG_R14 }, { UMK_R15, REG_R15 },
        { UMK_RDI, REG_RDI }, { UMK_RSI, REG_RSI }, { UMK_RBP, REG_RBP }, { UMK_RBX, REG_RBX },
        { UMK_RDX, REG_RDX }, { UMK_RCX, REG_RCX }, { UMK_RSP, REG_RSP },
        { UMK_RIP, REG_RIP }, { UMK_EFLAGS, REG_EFL },
    };
    for (auto [slot, greg] : pairs) {
        EXPECT_EQ(g_slot.regs[slot], static_cast<uint64_t>(g[greg])) << "slot register " << slot;
        const auto* restored = reinterpret_cast<const greg_t*>(&g_restored.mc);
        EXPECT_EQ(restored[greg], g[greg]) << "restored register " << slot;
    }
    EXPECT_EQ(g_slot.regs[UMK_RAX], 0x1234u);
    EXPECT_EQ(g_restored.mc.rax, 0x1234u);
    // cs in the low 16 bits of the CSGSFS word
    EXPECT_EQ(g_slot.regs[UMK_CS], static_cast<uint64_t>(g[REG_CSGSFS] & 0xffff));
    EXPECT_EQ(g_restored.sigmask, 0u); // guest code runs with no host signal blocked
    EXPECT_NE(g_slot.regs[UMK_FS_BASE], 0u); // this thread's TLS
}

// Once sites are patched, a guest gs base of 0 is the slot's address in
// the host (what patched syscall sites find their slot by), and reads
// back as 0.
TEST(StubRegisters, GuestGsBaseZeroIsTheSlotAddress)
{
    struct sigaction sa {};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    __asm__ volatile("wrgsbase %0" ::"r"(reinterpret_cast<uint64_t>(&g_slot)));
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_DFL);
    EXPECT_EQ(g_slot.regs[UMK_GS_BASE], 0u);
    EXPECT_EQ(rdgsbase(), reinterpret_cast<uint64_t>(&g_slot)); // restore_regs wrote it back
    __asm__ volatile("wrgsbase %0" ::"r"(uint64_t { 0 }));
}
