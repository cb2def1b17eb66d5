// Signals: actions, masks, sending, waiting, returning from handlers,
// alternate stacks. Linux: kernel/signal.c, arch/x86/kernel/signal_64.c.
// One process with one thread until the processes issue: kill(2) and
// friends reach only the caller's own process.
#include "kernel/syscalls/handlers.h"

#include <signal.h>

namespace umk::kernel {

namespace {

constexpr u64 kSaKnownFlags = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER
    | SA_RESETHAND | 0x04000000 /* SA_RESTORER */ | 0x00000400 /* SA_UNSUPPORTED */ | 0x00000800 /* SA_EXPOSE_TAGBITS */;

KResult<void> check_signo(int signo, bool zero_ok)
{
    if (signo < (zero_ok ? 0 : 1) || signo > kSigMax)
        return err(Errno::INVAL);
    return {};
}

// The signal's target among the guest's processes: only the caller's own
// process exists until the processes issue.
KResult<void> own_process(Thread& t, int pid)
{
    if (pid != t.process().pid())
        return err(Errno::SRCH);
    return {};
}

// To the process (tid 0) or one of its threads.
KResult<u64> send(Thread& t, int signo, const abi::Siginfo& info, int tid)
{
    if (signo == 0) {
        if (tid) {
            std::lock_guard lock(t.process().signal_lock());
            if (!t.process().find_thread_locked(tid))
                return err(Errno::SRCH);
        }
        return 0; // existence and permission only
    }
    if (!t.process().send_signal(info, tid))
        return err(Errno::SRCH);
    return 0;
}

} // namespace

KResult<u64> sys_rt_sigaction(Thread& t, int signo, GuestAddr act, GuestAddr oldact, u64 sigsetsize)
{
    if (sigsetsize != 8)
        return err(Errno::INVAL);
    TRY(check_signo(signo, false));
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
    std::optional<u64> s;
    if (!set.null()) {
        s = TRY(copy_in<u64>(t, set.value));
        if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
            return err(Errno::INVAL);
    }
    u64 old;
    {
        std::lock_guard lock(t.process().signal_lock());
        old = t.signal_mask;
        if (s) {
            switch (how) {
            case SIG_BLOCK: t.signal_mask |= *s; break;
            case SIG_UNBLOCK: t.signal_mask &= ~*s; break;
            default: t.signal_mask = *s; break;
            }
            t.signal_mask &= ~kUnblockable;
        }
    }
    if (!oldset.null())
        TRY(copy_out(t, oldset.value, old));
    return 0;
}

KResult<u64> sys_rt_sigpending(Thread& t, GuestAddr set, u64 sigsetsize)
{
    if (sigsetsize > 8)
        return err(Errno::INVAL);
    u64 pending;
    {
        std::lock_guard lock(t.process().signal_lock());
        pending = (t.pending_locked().pending() | t.process().shared_pending_locked().pending()) & t.signal_mask;
    }
    TRY(t.mm().copy_out(set.value, std::span(reinterpret_cast<const u8*>(&pending), sigsetsize)));
    return 0;
}

KResult<u64> sys_rt_sigsuspend(Thread& t, GuestAddr mask, u64 sigsetsize)
{
    if (sigsetsize != 8)
        return err(Errno::INVAL);
    u64 m = TRY(copy_in<u64>(t, mask.value));
    {
        std::lock_guard lock(t.process().signal_lock());
        t.saved_mask = t.signal_mask;
        t.signal_mask = m & ~kUnblockable;
    }
    t.wait_for_signal(std::nullopt);
    return err(Errno::RESTARTNOHAND);
}

KResult<u64> sys_pause(Thread& t)
{
    t.wait_for_signal(std::nullopt);
    return err(Errno::RESTARTNOHAND);
}

KResult<u64> sys_rt_sigtimedwait(Thread& t, GuestAddr set, GuestAddr info, GuestAddr timeout, u64 sigsetsize)
{
    if (sigsetsize != 8)
        return err(Errno::INVAL);
    u64 wanted = TRY(copy_in<u64>(t, set.value)) & ~kUnblockable;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (!timeout.null()) {
        auto ts = TRY(copy_in<abi::Timespec>(t, timeout.value));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return err(Errno::INVAL);
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    }
    // Linux: the waited-for signals are unblocked for the wait, so that
    // they (and anything else unblocked) end it.
    u64 old_mask;
    {
        std::lock_guard lock(t.process().signal_lock());
        old_mask = t.signal_mask;
        t.signal_mask &= ~wanted;
    }
    std::optional<abi::Siginfo> taken;
    for (;;) {
        {
            std::lock_guard lock(t.process().signal_lock());
            taken = t.pending_locked().take(wanted);
            if (!taken)
                taken = t.process().shared_pending_locked().take(wanted);
            if (taken || t.has_deliverable_locked()) {
                t.signal_mask = old_mask;
                break;
            }
        }
        if (!t.wait_for_signal(deadline)) {
            std::lock_guard lock(t.process().signal_lock());
            t.signal_mask = old_mask;
            return err(Errno::AGAIN);
        }
    }
    if (!taken)
        return err(Errno::INTR);
    if (!info.null())
        TRY(copy_out(t, info.value, *taken));
    return static_cast<u64>(taken->si_signo);
}

KResult<u64> sys_kill(Thread& t, int pid, int signo)
{
    TRY(check_signo(signo, true));
    // pid 0 and -pgid name the caller's process group, which holds only
    // the caller; -1 names every process but pid 1 and the caller: none.
    if (pid == -1)
        return err(Errno::SRCH);
    if (pid == 0 || pid == -t.process().pgid())
        pid = t.process().pid();
    TRY(own_process(t, pid));
    auto creds = t.process().creds();
    return send(t, signo, make_siginfo(signo, kSiUser, t.process().pid(), creds.uid), 0);
}

KResult<u64> sys_tkill(Thread& t, int tid, int signo)
{
    TRY(check_signo(signo, true));
    if (tid <= 0)
        return err(Errno::INVAL);
    auto creds = t.process().creds();
    return send(t, signo, make_siginfo(signo, kSiTkill, t.process().pid(), creds.uid), tid);
}

KResult<u64> sys_tgkill(Thread& t, int tgid, int tid, int signo)
{
    TRY(check_signo(signo, true));
    if (tgid <= 0 || tid <= 0)
        return err(Errno::INVAL);
    TRY(own_process(t, tgid));
    return sys_tkill(t, tid, signo);
}

KResult<u64> sys_rt_sigqueueinfo(Thread& t, int pid, int signo, GuestAddr uinfo)
{
    TRY(check_signo(signo, true));
    auto info = TRY(copy_in<abi::Siginfo>(t, uinfo.value));
    TRY(own_process(t, pid));
    // To another process only si_code < 0 (and not SI_TKILL) may be
    // forged; the caller may send itself anything.
    info.si_signo = signo;
    return send(t, signo, info, 0);
}

KResult<u64> sys_rt_sigreturn(Thread& t)
{
    auto r = restore_signal_frame(t);
    if (!r) {
        // Linux's badframe: SIGSEGV, which the guest may not catch here.
        t.process().send_signal(make_siginfo(kSigSegv, kSiKernel));
        t.process().set_sigaction(kSigSegv, abi::Sigaction {});
        return err(Errno::FAULT);
    }
    return *r;
}

KResult<u64> sys_sigaltstack(Thread& t, GuestAddr ss, GuestAddr old_ss)
{
    std::optional<abi::Stack> wanted;
    if (!ss.null()) {
        wanted = TRY(copy_in<abi::Stack>(t, ss.value));
        constexpr int kSsDisable = 2;
        constexpr u32 kSsAutodisarm = 1U << 31;
        int mode = static_cast<int>(static_cast<u32>(wanted->ss_flags) & ~kSsAutodisarm);
        if (mode != 0 && mode != kSsDisable)
            return err(Errno::INVAL);
        if (on_signal_stack(t.sigaltstack, t.regs()[platform::Registers::RSP]))
            return err(Errno::PERM); // on the alternate stack now
        if (mode == kSsDisable) {
            wanted->ss_sp = 0;
            wanted->ss_size = 0;
        } else if (wanted->ss_size < 2048) { // MINSIGSTKSZ
            return err(Errno::NOMEM);
        }
    }
    if (!old_ss.null()) {
        abi::Stack old = t.sigaltstack;
        if (on_signal_stack(old, t.regs()[platform::Registers::RSP]))
            old.ss_flags = 1; // SS_ONSTACK
        TRY(copy_out(t, old_ss.value, old));
    }
    if (wanted)
        t.sigaltstack = *wanted;
    return 0;
}

} // namespace umk::kernel
