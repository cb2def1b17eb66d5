#include "kernel/task/debug_registers.h"

#include "platform/seccomp_trap/layout.h"

namespace umk::kernel {

namespace {

using Breakpoint = platform::Breakpoint;

constexpr u64 kDr7Reserved = 0xfc00; // DR_CONTROL_RESERVED

bool same(const Breakpoint& a, const Breakpoint& b)
{
    return a.address == b.address && a.length == b.length && a.type == b.type;
}

// hw_breakpoint_arch_parse and arch_check_bp_in_kernelspace: a data
// breakpoint is aligned to its length, and every breakpoint lies in user
// space: here the guest's range or its vdso, never the stub's.
KResult<void> check(const Breakpoint& bp, DebugRegisters::UserRange vdso)
{
    u64 span = bp.type == Breakpoint::Type::Execute ? 1 : bp.length;
    if (bp.type != Breakpoint::Type::Execute && (bp.address & (bp.length - 1)))
        return err(Errno::INVAL);
    auto within = [&](u64 start, u64 end) { return bp.address >= start && bp.address < end && span <= end - bp.address; };
    if (!within(0, UMK_GUEST_TASK_SIZE) && !within(vdso.start, vdso.end))
        return err(Errno::INVAL);
    return {};
}

} // namespace

u64 DebugRegisters::read(int n)
{
    std::lock_guard lock(m_lock);
    if (n < 4)
        return m_slots[n].address;
    if (n == 6)
        return m_dr6 ^ kDr6Reserved;
    if (n == 7)
        return m_dr7;
    return 0;
}

KResult<std::optional<Breakpoint>> DebugRegisters::decode(u64 dr7, int n, u64 address, UserRange vdso)
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
    TRY(check(bp, vdso));
    if (!enabled)
        return std::optional<Breakpoint> {};
    return std::optional(bp);
}

KResult<void> DebugRegisters::apply_locked(platform::Context& context, u64 dr7, UserRange vdso)
{
    dr7 &= ~kDr7Reserved;
    // Every slot is checked before anything changes (EINVAL leaves all as
    // it was, as ptrace_write_dr7's restore pass).
    std::array<std::optional<Breakpoint>, 4> wanted;
    std::array<bool, 4> touched {};
    for (int n = 0; n < 4; n++) {
        bool enabled = (dr7 >> (n * 2)) & 3;
        if (!m_slots[n].exists && !enabled)
            continue;
        wanted[n] = TRY(decode(dr7, n, m_slots[n].address, vdso));
        touched[n] = true;
    }
    // What changes is disarmed first: the host has four slots a thread.
    std::array<std::optional<Breakpoint>, 4> before;
    for (int n = 0; n < 4; n++) {
        Slot& slot = m_slots[n];
        if (slot.armed && (!wanted[n] || !same(*wanted[n], slot.armed_as))) {
            before[n] = slot.armed_as;
            slot.armed.reset();
        }
    }
    auto arm = [&](Slot& slot, const Breakpoint& bp) -> KResult<void> {
        slot.armed = TRY(context.add_breakpoint(bp));
        slot.armed_as = bp;
        slot.seen_hits = 0;
        return {};
    };
    std::array<bool, 4> armed_now {};
    for (int n = 0; n < 4; n++) {
        if (!wanted[n] || m_slots[n].armed)
            continue;
        if (auto r = arm(m_slots[n], *wanted[n]); !r) {
            // Back to the breakpoints there were.
            for (int m = 0; m < 4; m++)
                if (armed_now[m])
                    m_slots[m].armed.reset();
            for (int m = 0; m < 4; m++)
                if (before[m])
                    (void)arm(m_slots[m], *before[m]);
            return err(r.error());
        }
        armed_now[n] = true;
    }
    for (int n = 0; n < 4; n++)
        if (touched[n])
            m_slots[n].exists = true;
    return {};
}

KResult<void> DebugRegisters::write(platform::Context& context, UserRange vdso, int n, u64 value)
{
    std::lock_guard lock(m_lock);
    m_vdso = vdso;
    if (n < 4) {
        // ptrace_set_breakpoint_addr: a first address makes a disabled
        // one-byte write breakpoint; a later one is checked against the
        // slot's settings in DR7 and re-arms it when enabled.
        Slot& slot = m_slots[n];
        if (slot.exists)
            TRY(decode(m_dr7 & ~kDr7Reserved, n, value, vdso));
        else
            TRY(check(Breakpoint { value, 1, Breakpoint::Type::Write }, vdso));
        u64 old = std::exchange(slot.address, value);
        slot.exists = true;
        if (!slot.armed)
            return {};
        if (auto r = apply_locked(context, m_dr7, vdso); !r) {
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
        TRY(apply_locked(context, value, vdso));
        m_dr7 = value;
        return {};
    }
    return err(Errno::IO);
}

bool DebugRegisters::trapped(bool stepped)
{
    std::lock_guard lock(m_lock);
    u64 hit = 0;
    for (int n = 0; n < 4; n++) {
        Slot& slot = m_slots[n];
        if (!slot.armed)
            continue;
        u64 hits = slot.armed->hits();
        if (hits != slot.seen_hits) {
            slot.seen_hits = hits;
            hit |= 1ULL << n; // DR_TRAP0 << n
        }
    }
    if (!stepped && !hit)
        return false;
    m_dr6 = (stepped ? kDr6Step : 0) | hit;
    return true;
}

void DebugRegisters::clear()
{
    std::lock_guard lock(m_lock);
    m_slots = {};
    m_dr6 = 0;
    m_dr7 = 0;
}

void DebugRegisters::inherit(DebugRegisters& parent)
{
    u64 dr6, dr7;
    {
        std::lock_guard lock(parent.m_lock);
        dr6 = parent.m_dr6;
        dr7 = parent.m_dr7;
    }
    std::lock_guard lock(m_lock);
    m_dr6 = dr6;
    m_dr7 = dr7;
}

void DebugRegisters::suspend()
{
    std::lock_guard lock(m_lock);
    for (auto& slot : m_slots)
        slot.armed.reset();
}

void DebugRegisters::resume(platform::Context& context)
{
    std::lock_guard lock(m_lock);
    (void)apply_locked(context, m_dr7, m_vdso);
}

} // namespace umk::kernel
