#include "kernel/task/debug_registers.h"

#include "platform/seccomp_trap/layout.h"

#include <atomic>

namespace umk::kernel {

namespace {

using Breakpoint = platform::Breakpoint;

constexpr u64 kDr7Reserved = 0xfc00; // DR_CONTROL_RESERVED

// hw_breakpoint_arch_parse and arch_check_bp_in_kernelspace: a data
// breakpoint is aligned to its length, and every breakpoint lies in user
// space (here: the guest's range, never the stub's).
KResult<void> check(const Breakpoint& bp)
{
    u64 span = bp.type == Breakpoint::Type::Execute ? 1 : bp.length;
    if (bp.type != Breakpoint::Type::Execute && (bp.address & (bp.length - 1)))
        return err(Errno::INVAL);
    if (bp.address >= UMK_GUEST_TASK_SIZE || span > UMK_GUEST_TASK_SIZE - bp.address)
        return err(Errno::INVAL);
    return {};
}

u64 next_cookie()
{
    static std::atomic<u64> cookies { 1 };
    return cookies++;
}

} // namespace

u64 DebugRegisters::read(int n) const
{
    if (n < 4)
        return m_slots[n].address;
    if (n == 6)
        return m_dr6 ^ kDr6Reserved;
    if (n == 7)
        return m_dr7;
    return 0;
}

KResult<std::optional<Breakpoint>> DebugRegisters::decode(u64 dr7, int n, u64 address)
{
    bool enabled = (dr7 >> (n * 2)) & 3;
    u64 info = dr7 >> (16 + n * 4);
    Breakpoint bp { address, 1, Breakpoint::Type::Execute };
    // arch_bp_generic_fields: R/W 00 execute (length bits 00 only), 01
    // write, 11 read/write, 10 (I/O) refused; length 00/01/11/10 = 1/2/4/8.
    switch (info & 3) {
    case 0:
        if (info & 0xc)
            return err(Errno::INVAL);
        bp.length = sizeof(u64);
        break;
    case 1:
        bp.type = Breakpoint::Type::Write;
        break;
    case 3:
        bp.type = Breakpoint::Type::ReadWrite;
        break;
    default:
        return err(Errno::INVAL);
    }
    if (bp.type != Breakpoint::Type::Execute) {
        static constexpr u32 kLengths[4] = { 1, 2, 8, 4 };
        bp.length = kLengths[(info >> 2) & 3];
    }
    TRY(check(bp));
    if (!enabled)
        return std::optional<Breakpoint> {};
    return std::optional(bp);
}

KResult<void> DebugRegisters::apply(platform::Context& context, u64 dr7)
{
    dr7 &= ~kDr7Reserved;
    auto before = m_slots;
    auto fail = [&](Errno e) {
        m_slots = std::move(before); // ptrace_write_dr7's second pass
        return err(e);
    };
    for (int n = 0; n < 4; n++) {
        Slot& slot = m_slots[n];
        bool enabled = (dr7 >> (n * 2)) & 3;
        if (!slot.exists && !enabled)
            continue;
        auto decoded = decode(dr7, n, slot.address);
        if (!decoded)
            return fail(decoded.error());
        slot.exists = true;
        if (!*decoded) {
            slot.armed.reset();
            continue;
        }
        const Breakpoint& bp = **decoded;
        if (slot.armed && slot.armed_as.address == bp.address && slot.armed_as.length == bp.length
            && slot.armed_as.type == bp.type)
            continue;
        u64 cookie = next_cookie();
        auto armed = context.add_breakpoint(bp, cookie);
        if (!armed)
            return fail(armed.error());
        slot.armed = std::move(*armed);
        slot.armed_as = bp;
        slot.cookie = cookie;
    }
    return {};
}

KResult<void> DebugRegisters::write(platform::Context& context, int n, u64 value)
{
    if (n < 4) {
        // ptrace_set_breakpoint_addr: a first address makes a disabled
        // one-byte write breakpoint; a later one is checked against the
        // slot's settings in DR7 and re-arms it when enabled.
        Slot& slot = m_slots[n];
        if (slot.exists)
            TRY(decode(m_dr7 & ~kDr7Reserved, n, value));
        else
            TRY(check(Breakpoint { value, 1, Breakpoint::Type::Write }));
        u64 old = std::exchange(slot.address, value);
        slot.exists = true;
        if (auto r = apply(context, m_dr7); !r) {
            slot.address = old;
            return err(r.error());
        }
        return {};
    }
    if (n == 6) {
        m_dr6 = value ^ kDr6Reserved;
        return {};
    }
    if (n == 7) {
        TRY(apply(context, value));
        m_dr7 = value;
        return {};
    }
    return err(Errno::IO);
}

bool DebugRegisters::hit(u64 cookie)
{
    for (int n = 0; n < 4; n++) {
        if (m_slots[n].armed && m_slots[n].cookie == cookie) {
            m_dr6 = 1ULL << n; // DR_TRAP0 << n
            return true;
        }
    }
    return false;
}

} // namespace umk::kernel
