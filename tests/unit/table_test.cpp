// The syscall table and the register layout shared with the stub.
#include "kernel/syscalls/signatures.h"
#include "kernel/syscalls/table.h"
#include "platform/seccomp_trap/layout.h"

#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <sys/user.h>

#include <cstddef>

using namespace umk;
using namespace umk::kernel;

TEST(SyscallTable, EveryNumberHasAnEntry)
{
    for (u64 nr = 0; nr < syscall_count(); nr++) {
        const auto& e = syscall_entry(nr);
        if (e.support != Support::Unimplemented) {
            EXPECT_NE(e.handler, nullptr) << nr;
        }
        if (e.handler) {
            EXPECT_FALSE(syscall_name(nr).empty()) << "handler for a number that is no syscall: " << nr;
        }
        if (e.support == Support::Partial) {
            EXPECT_STRNE(e.note, "") << "Partial without saying what is missing: " << syscall_name(nr);
        }
    }
}

TEST(SyscallTable, OutOfRangeIsUnimplemented)
{
    EXPECT_EQ(syscall_entry(100000).support, Support::Unimplemented);
    EXPECT_EQ(syscall_entry(UMK_COMPAT_SYSCALL).handler, nullptr);
    EXPECT_EQ(syscall_entry(0x40000000 | SYS_getpid).handler, nullptr); // x32 numbers
}

TEST(SyscallTable, KnownEntries)
{
    EXPECT_EQ(syscall_name(SYS_read), "read");
    EXPECT_EQ(syscall_name(SYS_openat), "openat");
    EXPECT_EQ(syscall_entry(SYS_read).support, Support::Supported);
    EXPECT_NE(syscall_entry(SYS_openat).handler, nullptr);
    EXPECT_EQ(syscall_entry(SYS_fork).support, Support::Supported);
    EXPECT_EQ(syscall_entry(SYS_io_uring_setup).support, Support::Unimplemented);
}

TEST(SyscallTable, TypedArgumentsTakeTheLowHalfOfIntRegisters)
{
    EXPECT_EQ(from_register<int>(0xffffffff00000005ULL), 5);
    EXPECT_EQ(from_register<int>(0x00000000ffffff9cULL), -100); // AT_FDCWD
    EXPECT_EQ(from_register<u64>(0xffffffff00000005ULL), 0xffffffff00000005ULL);
    EXPECT_EQ(from_register<GuestAddr>(0x1234).value, 0x1234u);
}

// The slot's register order is struct user_regs_struct's (what ptrace and
// core dumps use), so the kernel's Registers index both.
TEST(RegisterLayout, MatchesUserRegsStruct)
{
    EXPECT_EQ(UMK_R15 * 8, offsetof(user_regs_struct, r15));
    EXPECT_EQ(UMK_RAX * 8, offsetof(user_regs_struct, rax));
    EXPECT_EQ(UMK_ORIG_RAX * 8, offsetof(user_regs_struct, orig_rax));
    EXPECT_EQ(UMK_RIP * 8, offsetof(user_regs_struct, rip));
    EXPECT_EQ(UMK_RSP * 8, offsetof(user_regs_struct, rsp));
    EXPECT_EQ(UMK_FS_BASE * 8, offsetof(user_regs_struct, fs_base));
    EXPECT_EQ(UMK_GS * 8, offsetof(user_regs_struct, gs));
    EXPECT_EQ(UMK_NREGS * 8, sizeof(user_regs_struct));
}

TEST(RegisterLayout, SyscallArgumentsFollowTheAbi)
{
    platform::Registers r;
    using R = platform::Registers;
    r[R::RDI] = 1;
    r[R::RSI] = 2;
    r[R::RDX] = 3;
    r[R::R10] = 4;
    r[R::R8] = 5;
    r[R::R9] = 6;
    r[R::RCX] = 99; // clobbered by `syscall`, never an argument
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(r.syscall_arg(i), static_cast<u64>(i + 1));
}

TEST(AddressLayout, StubAboveGuestWithGuardGap)
{
    EXPECT_LT(UMK_GUEST_TASK_SIZE, UMK_STUB_BASE);
    EXPECT_LT(UMK_STUB_BASE, UMK_CTL_BASE);
    EXPECT_GE(UMK_CTL_BASE - UMK_STUB_BASE, 0x1000000ULL);
    EXPECT_LE(UMK_CTL_BASE + UMK_CTL_SIZE, UMK_ALTSTACK_BASE);
    EXPECT_LT(UMK_ALTSTACK_BASE + UMK_MAX_THREADS * UMK_ALTSTACK_STRIDE, 0x7ffff0000000ULL);
}
