#pragma once

// A guest thread's x86 debug registers as ptrace shows them
// (PTRACE_PEEKUSR/POKEUSR at offsetof(struct user, u_debugreg)): DR0-DR3
// addresses, DR6 status, DR7 control. Each enabled DR0-DR3 is a hardware
// breakpoint on the thread's host thread (platform::Context::
// add_breakpoint), as Linux backs them with perf events. Linux:
// arch/x86/kernel/ptrace.c (ptrace_get_debugreg, ptrace_set_debugreg,
// ptrace_write_dr7), arch/x86/kernel/hw_breakpoint.c, traps.c
// (exc_debug_user).

#include "lib/kresult.h"
#include "platform/context.h"

#include <array>
#include <memory>
#include <mutex>
#include <optional>

namespace umk::kernel {

class DebugRegisters {
public:
    // Where breakpoints may go besides the guest's range: its [vdso].
    struct UserRange {
        u64 start { 0 }, end { 0 };
    };

    // Register n (0-7): DR4 and DR5 read as 0.
    u64 read(int n);
    // EIO for DR4/DR5, EINVAL for an address or DR7 setting Linux refuses
    // (DR7 then keeps its old value), ENOSPC when the host has no slot.
    KResult<void> write(platform::Context& context, UserRange vdso, int n, u64 value);

    // A SIGTRAP stop: the DR6 bits of the breakpoints that hit since the
    // last one (their hit counts moved; the host merges a breakpoint's
    // SIGTRAP into one already pending, a single step's say). `stepped`:
    // DR6 shows BS too (Linux's exc_debug_user). False when a breakpoint
    // stop has nothing new: its hit was reported already, or it belongs
    // to another guest thread on the same host thread.
    bool trapped(bool stepped);
    // execve, and a new thread or process: all off (flush_ptrace_hw_breakpoint).
    void clear();
    // A clone: DR6 and DR7 read as the parent's, with no breakpoint armed
    // (Linux copies the thread struct, not its events).
    void inherit(DebugRegisters& parent);
    // While a vfork child runs on this thread's host thread: disarmed,
    // then armed again.
    void suspend();
    void resume(platform::Context& context);

private:
    static constexpr u64 kDr6Step = 0x4000;
    static constexpr u64 kDr6Reserved = 0xffff0ff0; // DR6 is kept with these flipped

    struct Slot {
        u64 address { 0 };
        bool exists { false }; // Linux's ptrace_bps[n]: set once, then validated on change
        std::unique_ptr<platform::BreakpointHandle> armed; // while enabled
        platform::Breakpoint armed_as {};
        u64 seen_hits { 0 };
    };
    // DR7's settings for slot n: enabled, and the breakpoint (EINVAL when
    // the type or length is not a valid x86 one, or the address is not).
    static KResult<std::optional<platform::Breakpoint>> decode(u64 dr7, int n, u64 address, UserRange vdso);
    // Arms what DR7 enables, disarming first what changes (the host has
    // four slots per thread). Under m_lock.
    KResult<void> apply_locked(platform::Context& context, u64 dr7, UserRange vdso);

    std::mutex m_lock; // two tracer threads may poke at once
    std::array<Slot, 4> m_slots {};
    u64 m_dr6 { 0 };
    u64 m_dr7 { 0 };
    UserRange m_vdso {}; // as of the last write (re-arming after a vfork)
};

} // namespace umk::kernel
