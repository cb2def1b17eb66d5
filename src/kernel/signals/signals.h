#pragma once

// Guest signals: numbers, default actions, pending queues, and the x86-64
// signal frame (Linux: kernel/signal.c, arch/x86/kernel/signal.c,
// signal_64.c). Purely virtual: no host signal is ever passed through.

#include "kernel/abi/linux.h"
#include "lib/kresult.h"
#include "platform/context.h"

#include <deque>
#include <optional>

namespace umk::kernel {

class Thread;

inline constexpr int kSigHup = 1, kSigInt = 2, kSigQuit = 3, kSigIll = 4, kSigTrap = 5, kSigAbrt = 6, kSigBus = 7,
                     kSigFpe = 8, kSigKill = 9, kSigUsr1 = 10, kSigSegv = 11, kSigUsr2 = 12, kSigPipe = 13,
                     kSigAlrm = 14, kSigTerm = 15, kSigChld = 17, kSigCont = 18, kSigStop = 19, kSigTstp = 20,
                     kSigTtin = 21, kSigTtou = 22, kSigUrg = 23, kSigVtalrm = 26, kSigProf = 27, kSigWinch = 28, kSigSys = 31, kSigRtMin = 32,
                     kSigMax = 64;

// si_code values.
inline constexpr int kSiUser = 0, kSiKernel = 0x80, kSiQueue = -1, kSiTkill = -6;
// SIGCHLD's si_code.
inline constexpr int kCldExited = 1, kCldKilled = 2, kCldDumped = 3, kCldTrapped = 4, kCldStopped = 5,
                     kCldContinued = 6;

constexpr u64 sigbit(int signo) { return 1ULL << (signo - 1); }
inline constexpr u64 kUnblockable = sigbit(kSigKill) | sigbit(kSigStop);

enum class DefaultAction { Terminate, Core, Ignore, Stop, Continue };
DefaultAction default_action(int signo);

// Whether `sp` is on the alternate signal stack (Linux's on_sig_stack).
bool on_signal_stack(const abi::Stack&, u64 sp);

// Signals waiting for delivery to a thread or a process. Standard signals
// (1..31) are pending at most once; real-time ones queue in order.
class SignalQueue {
public:
    void push(const abi::Siginfo&);
    u64 pending() const { return m_pending; }
    // The lowest-numbered pending signal in `allowed`, removed.
    std::optional<abi::Siginfo> take(u64 allowed);
    // Drops every pending `signo` (it became ignored).
    void discard(int signo);

private:
    u64 m_pending { 0 };
    std::deque<abi::Siginfo> m_queue;
};

abi::Siginfo make_siginfo(int signo, int code, int pid = 0, u32 uid = 0);
// An FPU image (FXSAVE area, or XSAVE with its header) the CPU would load:
// Linux's checks in restore_fpregs_from_user (rt_sigreturn, ptrace).
bool fpu_image_valid(const std::vector<u8>& image, bool xsave);

// Builds the frame of a handler on the guest stack and points the thread
// at the handler (Linux's setup_rt_frame). SIGSEGV where the frame cannot
// be written. `fault` gives the CPU's view for signals from a fault.
KResult<void> setup_signal_frame(Thread&, const abi::Siginfo&, const abi::Sigaction&, u64 old_mask,
                                 const platform::FaultInfo* fault);
// rt_sigreturn(2): restores what the frame saved; returns the restored rax.
KResult<u64> restore_signal_frame(Thread&);

} // namespace umk::kernel
