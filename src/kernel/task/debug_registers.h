#pragma once

// A guest thread's x86 debug registers as ptrace shows them
// (PTRACE_PEEKUSR/POKEUSR at offsetof(struct user, u_debugreg)): DR0-DR3
// addresses, DR6 status, DR7 control. Each enabled DR0-DR3 is a hardware
// breakpoint on the thread's host thread (platform::Context::
// add_breakpoint), as Linux backs them with perf events. Linux:
// arch/x86/kernel/ptrace.c (ptrace_get_debugreg, ptrace_set_debugreg,
// ptrace_write_dr7), arch/x86/kernel/hw_breakpoint.c.

#include "lib/kresult.h"
#include "platform/context.h"

#include <array>
#include <memory>
#include <optional>

namespace umk::kernel {

class DebugRegisters {
public:
    // Register n (0-7): DR4 and DR5 read as 0.
    u64 read(int n) const;
    // EIO for DR4/DR5, EINVAL for an address or DR7 setting Linux refuses
    // (DR7 then keeps its old value).
    KResult<void> write(platform::Context& context, int n, u64 value);

    // A TRAP_PERF stop with this cookie: whether one of these registers
    // hit (DR6 then says which). Not ours: a breakpoint of another guest
    // thread that runs on the same host thread (a vfork child).
    bool hit(u64 cookie);
    // A single-step trap: DR6 shows BS, as Linux's exc_debug_user.
    void stepped() { m_dr6 = kDr6Step; }
    // execve, and a new thread or process: all off (flush_ptrace_hw_breakpoint).
    void clear() { *this = DebugRegisters {}; }

private:
    static constexpr u64 kDr6Step = 0x4000;
    static constexpr u64 kDr6Reserved = 0xffff0ff0; // DR6 is kept with these flipped

    struct Slot {
        u64 address { 0 };
        bool exists { false }; // Linux's ptrace_bps[n]: set once, then validated on change
        u64 cookie { 0 };
        std::shared_ptr<void> armed; // while enabled
        platform::Breakpoint armed_as {};
    };
    // DR7's settings for slot n: enabled, and the breakpoint (EINVAL when
    // the type or length is not a valid x86 one).
    static KResult<std::optional<platform::Breakpoint>> decode(u64 dr7, int n, u64 address);
    KResult<void> apply(platform::Context& context, u64 dr7);

    std::array<Slot, 4> m_slots {};
    u64 m_dr6 { 0 };
    u64 m_dr7 { 0 };
};

} // namespace umk::kernel
