#include "kernel/signals/signals.h"

#include "kernel/abi/x86_flags.h"
#include "kernel/task/task.h"
#include "platform/seccomp_trap/layout.h"

#include <cstddef>
#include <cstring>

namespace umk::kernel {

using R = platform::Registers;

namespace {

constexpr u64 kSaOnstack = 0x08000000, kSaRestorer = 0x04000000;
constexpr i32 kSsOnstack = 1, kSsDisable = 2;
constexpr u32 kSsAutodisarm = 1U << 31;
constexpr u64 kUcFpXstate = 1, kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;
// FIX_EFLAGS: what a signal frame may change (AC OF DF TF SF ZF AF PF CF RF).
constexpr u64 kFixEflags = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;
constexpr u16 kUserCs = 0x33, kUserDs = 0x2b;
// Signals the CPU raises for the current instruction: delivered first.
constexpr u64 kSynchronous = sigbit(kSigSegv) | sigbit(kSigBus) | sigbit(kSigIll) | sigbit(kSigTrap)
    | sigbit(kSigFpe) | sigbit(kSigSys);

u64 lowest(u64 set) { return set & (~set + 1); }

// The host's MXCSR mask and enabled XSAVE features: what a guest XSAVE
// image may contain (this kernel runs on the same CPU as its stubs).
struct FpuLimits {
    u32 mxcsr_mask;
    u64 xfeatures;
};

const FpuLimits& fpu_limits()
{
    static const FpuLimits limits = [] {
        alignas(16) u8 area[512] {};
        __asm__ volatile("fxsave64 %0" : "=m"(area));
        u32 mask;
        std::memcpy(&mask, area + 28, 4);
        u32 lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        return FpuLimits { mask ? mask : 0xffbf, (static_cast<u64>(hi) << 32) | lo };
    }();
    return limits;
}

} // namespace

// What Linux's restore_fpregs_from_user would refuse.
bool fpu_image_valid(const std::vector<u8>& image, bool xsave)
{
    if (image.size() < (xsave ? UMK_XSAVE_HEADER + 64 : 512))
        return false;
    u32 mxcsr;
    std::memcpy(&mxcsr, image.data() + 24, 4);
    if (mxcsr & ~fpu_limits().mxcsr_mask)
        return false;
    if (!xsave)
        return true;
    u64 xstate_bv, xcomp_bv;
    std::memcpy(&xstate_bv, image.data() + UMK_XSAVE_HEADER, 8);
    std::memcpy(&xcomp_bv, image.data() + UMK_XSAVE_HEADER + 8, 8);
    if ((xstate_bv & ~fpu_limits().xfeatures) || xcomp_bv)
        return false;
    for (usize i = UMK_XSAVE_HEADER + 16; i < UMK_XSAVE_HEADER + 64; i++)
        if (image[i])
            return false;
    return true;
}

bool on_signal_stack(const abi::Stack& s, u64 sp) { return s.ss_size && sp > s.ss_sp && sp - s.ss_sp <= s.ss_size; }

DefaultAction default_action(int signo)
{
    switch (signo) {
    case kSigQuit:
    case kSigIll:
    case kSigTrap:
    case kSigAbrt:
    case kSigBus:
    case kSigFpe:
    case kSigSegv:
    case kSigSys:
    case 24: // SIGXCPU
    case 25: // SIGXFSZ
        return DefaultAction::Core;
    case kSigChld:
    case kSigUrg:
    case kSigWinch:
        return DefaultAction::Ignore;
    case kSigCont:
        return DefaultAction::Continue;
    case kSigStop:
    case kSigTstp:
    case kSigTtin:
    case kSigTtou:
        return DefaultAction::Stop;
    }
    return DefaultAction::Terminate;
}

abi::Siginfo make_siginfo(int signo, int code, int pid, u32 uid)
{
    abi::Siginfo info {};
    info.si_signo = signo;
    info.si_code = code;
    info.kill.pid = pid;
    info.kill.uid = uid;
    return info;
}

void SignalQueue::push(const abi::Siginfo& info)
{
    u64 bit = sigbit(info.si_signo);
    if (info.si_signo < kSigRtMin && (m_pending & bit))
        return; // a standard signal is pending at most once
    m_pending |= bit;
    m_queue.push_back(info);
}

std::optional<abi::Siginfo> SignalQueue::take(u64 allowed)
{
    u64 ready = m_pending & allowed;
    if (!ready)
        return std::nullopt;
    u64 bit = (ready & kSynchronous) ? lowest(ready & kSynchronous) : lowest(ready);
    int signo = __builtin_ctzll(bit) + 1;
    std::optional<abi::Siginfo> out;
    bool more = false;
    for (auto it = m_queue.begin(); it != m_queue.end();) {
        if (it->si_signo != signo) {
            ++it;
        } else if (!out) {
            out = *it;
            it = m_queue.erase(it);
        } else {
            more = true;
            break;
        }
    }
    if (!more)
        m_pending &= ~bit;
    return out;
}

void SignalQueue::discard(int signo)
{
    std::erase_if(m_queue, [&](const abi::Siginfo& i) { return i.si_signo == signo; });
    m_pending &= ~sigbit(signo);
}

KResult<void> setup_signal_frame(Thread& t, const abi::Siginfo& info, const abi::Sigaction& action, u64 old_mask,
                                 const platform::FaultInfo* fault)
{
    if (!(action.flags & kSaRestorer))
        return err(Errno::FAULT); // x86-64 has no kernel-provided trampoline
    R& regs = t.regs();
    abi::Stack& alt = t.sigaltstack;
    u64 sp = regs[R::RSP] - 128; // the red zone
    bool alt_enabled = alt.ss_flags != kSsDisable && alt.ss_size;
    bool entering_alt = false;
    if ((action.flags & kSaOnstack) && alt_enabled && !on_signal_stack(alt, sp)) {
        sp = alt.ss_sp + alt.ss_size;
        entering_alt = true;
    }
    auto image = TRY(t.context().fpu_state());
    sp = (sp - image.size()) & ~u64(63);
    u64 fp_addr = sp;
    sp = ((sp - sizeof(abi::RtSigframe)) & ~u64(15)) - 8;
    u64 frame_addr = sp;
    if (entering_alt && frame_addr < alt.ss_sp)
        return err(Errno::FAULT);

    bool xsave = false;
    if (image.size() >= UMK_XSAVE_SW_BYTES + 4) {
        u32 magic;
        std::memcpy(&magic, image.data() + UMK_XSAVE_SW_BYTES, 4);
        xsave = magic == UMK_FP_XSTATE_MAGIC1;
    }
    abi::RtSigframe f {};
    f.pretcode = action.restorer;
    f.uc.uc_flags = (xsave ? kUcFpXstate : 0) | kUcSigcontextSs | kUcStrictRestoreSs;
    f.uc.uc_stack.ss_sp = alt.ss_sp;
    f.uc.uc_stack.ss_size = alt.ss_size;
    f.uc.uc_stack.ss_flags = on_signal_stack(alt, regs[R::RSP]) ? kSsOnstack : (alt_enabled ? 0 : kSsDisable);
    f.uc.uc_stack.ss_flags |= static_cast<i32>(static_cast<u32>(alt.ss_flags) & kSsAutodisarm);
    abi::Sigcontext& sc = f.uc.uc_mcontext;
    sc.r8 = regs[R::R8];
    sc.r9 = regs[R::R9];
    sc.r10 = regs[R::R10];
    sc.r11 = regs[R::R11];
    sc.r12 = regs[R::R12];
    sc.r13 = regs[R::R13];
    sc.r14 = regs[R::R14];
    sc.r15 = regs[R::R15];
    sc.rdi = regs[R::RDI];
    sc.rsi = regs[R::RSI];
    sc.rbp = regs[R::RBP];
    sc.rbx = regs[R::RBX];
    sc.rdx = regs[R::RDX];
    sc.rax = regs[R::RAX];
    sc.rcx = regs[R::RCX];
    sc.rsp = regs[R::RSP];
    sc.rip = regs[R::RIP];
    sc.eflags = regs[R::EFLAGS];
    sc.cs = kUserCs;
    sc.ss = kUserDs;
    if (fault) {
        sc.trapno = fault->trapno;
        sc.err = fault->error_code;
        sc.cr2 = fault->cr2;
    }
    sc.oldmask = old_mask;
    sc.fpstate = fp_addr;
    f.uc.uc_sigmask = old_mask;
    f.info = info;
    TRY(t.mm().copy_out(fp_addr, image));
    TRY(copy_out(t, frame_addr, f));

    if (entering_alt && (static_cast<u32>(alt.ss_flags) & kSsAutodisarm))
        alt = abi::Stack { 0, kSsDisable, 0, 0 };
    regs[R::RDI] = static_cast<u64>(info.si_signo);
    regs[R::RSI] = frame_addr + offsetof(abi::RtSigframe, info);
    regs[R::RDX] = frame_addr + offsetof(abi::RtSigframe, uc);
    regs[R::RAX] = 0;
    regs[R::RSP] = frame_addr;
    regs[R::RIP] = action.handler;
    regs[R::EFLAGS] &= ~(abi::kFlagDirection | abi::kFlagResume | abi::kFlagTrap);
    t.context().reset_fpu_state();
    return {};
}

KResult<u64> restore_signal_frame(Thread& t)
{
    R& regs = t.regs();
    u64 frame_addr = regs[R::RSP] - 8; // the handler's `ret` popped pretcode
    auto f = TRY(copy_in<abi::RtSigframe>(t, frame_addr));
    const abi::Sigcontext& sc = f.uc.uc_mcontext;

    std::optional<std::vector<u8>> image;
    if (sc.fpstate) {
        u32 sw[2];
        TRY(t.mm().copy_in(sc.fpstate + UMK_XSAVE_SW_BYTES, std::span(reinterpret_cast<u8*>(sw), sizeof sw)));
        bool xsave = (f.uc.uc_flags & kUcFpXstate) && sw[0] == UMK_FP_XSTATE_MAGIC1;
        usize size = xsave ? sw[1] : 512; // XSAVE image, or the legacy FXSAVE area
        if (xsave && (size < UMK_XSAVE_HEADER + 64 || size > UMK_XSAVE_MAX))
            return err(Errno::FAULT);
        image.emplace(size);
        TRY(t.mm().copy_in(sc.fpstate, *image));
        if (!fpu_image_valid(*image, xsave))
            return err(Errno::FAULT);
    }

    regs[R::R8] = sc.r8;
    regs[R::R9] = sc.r9;
    regs[R::R10] = sc.r10;
    regs[R::R11] = sc.r11;
    regs[R::R12] = sc.r12;
    regs[R::R13] = sc.r13;
    regs[R::R14] = sc.r14;
    regs[R::R15] = sc.r15;
    regs[R::RDI] = sc.rdi;
    regs[R::RSI] = sc.rsi;
    regs[R::RBP] = sc.rbp;
    regs[R::RBX] = sc.rbx;
    regs[R::RDX] = sc.rdx;
    regs[R::RAX] = sc.rax;
    regs[R::RCX] = sc.rcx;
    regs[R::RSP] = sc.rsp;
    regs[R::RIP] = sc.rip;
    regs[R::EFLAGS] = (regs[R::EFLAGS] & ~kFixEflags) | (sc.eflags & kFixEflags);
    regs[R::ORIG_RAX] = ~0ULL; // no syscall restart after this
    t.signal_mask = f.uc.uc_sigmask & ~kUnblockable;
    if (image)
        t.context().set_fpu_state(std::move(*image));
    else
        t.context().reset_fpu_state();
    // Like Linux's restore_altstack: an invalid stack is silently kept out.
    const abi::Stack& ss = f.uc.uc_stack;
    if (!on_signal_stack(t.sigaltstack, regs[R::RSP])) {
        i32 mode = static_cast<i32>(static_cast<u32>(ss.ss_flags) & ~kSsAutodisarm);
        if (mode == kSsDisable)
            t.sigaltstack = abi::Stack { 0, kSsDisable, 0, 0 };
        else if (mode == 0 && ss.ss_size >= 2048)
            t.sigaltstack = ss;
    }
    return sc.rax;
}

} // namespace umk::kernel
