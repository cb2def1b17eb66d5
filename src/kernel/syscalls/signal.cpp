// Signal state: actions, masks, alternate stacks. Delivery comes with the
// processes issue. Linux: kernel/signal.c.
#include "kernel/syscalls/handlers.h"

#include <signal.h>

namespace umk::kernel {

namespace {

constexpr u64 kUnblockable = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));
constexpr u64 kSaKnownFlags = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER
    | SA_RESETHAND | 0x04000000 /* SA_RESTORER */ | 0x00000400 /* SA_UNSUPPORTED */ | 0x00000800 /* SA_EXPOSE_TAGBITS */;

} // namespace

KResult<u64> sys_rt_sigaction(Thread& t, int signo, GuestAddr act, GuestAddr oldact, u64 sigsetsize)
{
    if (sigsetsize != 8)
        return err(Errno::INVAL);
    if (signo < 1 || signo > kSignalCount)
        return err(Errno::INVAL);
    std::optional<abi::Sigaction> wanted;
    if (!act.null()) {
        if (signo == SIGKILL || signo == SIGSTOP)
            return err(Errno::INVAL);
        wanted = TRY(copy_in<abi::Sigaction>(t, act.value));
        wanted->mask &= ~kUnblockable;
    }
    if (!oldact.null()) {
        auto old = t.process().sigaction(signo);
        old.flags &= kSaKnownFlags; // unknown bits read back as 0 (SA_UNSUPPORTED probing)
        TRY(copy_out(t, oldact.value, old));
    }
    if (wanted)
        t.process().set_sigaction(signo, *wanted);
    return 0;
}

KResult<u64> sys_rt_sigprocmask(Thread& t, int how, GuestAddr set, GuestAddr oldset, u64 sigsetsize)
{
    if (sigsetsize != 8)
        return err(Errno::INVAL);
    u64 old = t.signal_mask;
    if (!set.null()) {
        u64 s = TRY(copy_in<u64>(t, set.value));
        switch (how) {
        case SIG_BLOCK: t.signal_mask |= s; break;
        case SIG_UNBLOCK: t.signal_mask &= ~s; break;
        case SIG_SETMASK: t.signal_mask = s; break;
        default: return err(Errno::INVAL);
        }
        t.signal_mask &= ~kUnblockable;
    }
    if (!oldset.null())
        TRY(copy_out(t, oldset.value, old));
    return 0;
}

KResult<u64> sys_sigaltstack(Thread& t, GuestAddr ss, GuestAddr old_ss)
{
    std::optional<abi::Stack> wanted;
    if (!ss.null()) {
        wanted = TRY(copy_in<abi::Stack>(t, ss.value));
        constexpr int kSsDisable = 2, kSsAutodisarm = 1 << 31;
        int mode = wanted->ss_flags & ~kSsAutodisarm;
        if (mode != 0 && mode != kSsDisable)
            return err(Errno::INVAL);
        if (mode == kSsDisable) {
            wanted->ss_sp = 0;
            wanted->ss_size = 0;
        } else if (wanted->ss_size < 2048) { // MINSIGSTKSZ
            return err(Errno::NOMEM);
        }
    }
    if (!old_ss.null())
        TRY(copy_out(t, old_ss.value, t.sigaltstack));
    if (wanted)
        t.sigaltstack = *wanted;
    return 0;
}

} // namespace umk::kernel
