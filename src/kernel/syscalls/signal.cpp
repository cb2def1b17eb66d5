// Signals: actions, masks, sending, waiting, returning from handlers,
// alternate stacks. Linux: kernel/signal.c, arch/x86/kernel/signal_64.c.
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

// kill(2)'s targets: a pid, a process group, or everyone but pid 1 and
// the caller (-1).
std::vector<RefPtr<Process>> kill_targets(Thread& t, int pid)
{
    Kernel& k = t.kernel();
    if (pid > 0) {
        auto p = k.find_process(pid);
        return p ? std::vector<RefPtr<Process>> { p } : std::vector<RefPtr<Process>> {};
    }
    std::lock_guard tree(k.tree_lock());
    int pgid = pid == 0 ? t.process().pgid_locked() : -pid;
    std::vector<RefPtr<Process>> out;
    for (auto& p : k.processes()) {
        if (p->zombie_locked())
            continue;
        if (pid == -1 ? (p->pid() != 1 && p.get() != &t.process()) : p->pgid_locked() == pgid)
            out.push_back(p);
    }
    return out;
}

} // namespace

// check_kill_permission: root (CAP_KILL), a matching real or
// effective uid, or SIGCONT within the session.
bool may_signal(Thread& t, Process& target, int signo)
{
    if (&target == &t.process())
        return true;
    auto me = t.process().creds();
    auto them = target.creds();
    if (me.has(kCapKill))
        return true;
    if (me.euid == them.suid || me.euid == them.uid || me.uid == them.suid || me.uid == them.uid)
        return true;
    return signo == kSigCont && t.process().sid() == target.sid();
}

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
    t.set_temporary_mask(TRY(copy_in<u64>(t, mask.value)));
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
    if (taken->si_code == -2) // SI_TIMER: its timer may fire again
        t.process().timers.dequeued(*taken);
    if (!info.null())
        TRY(copy_out(t, info.value, *taken));
    return static_cast<u64>(taken->si_signo);
}

KResult<u64> sys_kill(Thread& t, int pid, int signo)
{
    TRY(check_signo(signo, true));
    if (pid == INT32_MIN)
        return err(Errno::SRCH);
    auto creds = t.process().creds();
    auto targets = kill_targets(t, pid);
    if (targets.empty())
        return err(Errno::SRCH);
    bool sent = false;
    for (auto& p : targets) {
        if (!may_signal(t, *p, signo))
            continue;
        sent = true;
        if (signo)
            p->send_signal(make_siginfo(signo, kSiUser, t.process().pid(), creds.uid));
    }
    return sent ? KResult<u64>(0) : err(Errno::PERM);
}

// To thread `tid`, in process `tgid` when that is not 0.
static KResult<u64> signal_thread(Thread& t, int tgid, int tid, int signo)
{
    auto p = t.kernel().find_thread_group(tid);
    if (!p || (tgid && p->pid() != tgid))
        return err(Errno::SRCH);
    if (!may_signal(t, *p, signo))
        return err(Errno::PERM);
    if (!signo)
        return 0;
    auto creds = t.process().creds();
    if (!p->send_signal(make_siginfo(signo, kSiTkill, t.process().pid(), creds.uid), tid))
        return err(Errno::SRCH);
    return 0;
}

KResult<u64> sys_tkill(Thread& t, int tid, int signo)
{
    TRY(check_signo(signo, true));
    if (tid <= 0)
        return err(Errno::INVAL);
    return signal_thread(t, 0, tid, signo);
}

KResult<u64> sys_tgkill(Thread& t, int tgid, int tid, int signo)
{
    TRY(check_signo(signo, true));
    if (tgid <= 0 || tid <= 0)
        return err(Errno::INVAL);
    return signal_thread(t, tgid, tid, signo);
}

KResult<u64> sys_rt_sigqueueinfo(Thread& t, int pid, int signo, GuestAddr uinfo)
{
    TRY(check_signo(signo, true));
    auto info = TRY(copy_in<abi::Siginfo>(t, uinfo.value));
    auto p = t.kernel().find_process(pid);
    if (!p)
        return err(Errno::SRCH);
    // To another process only si_code < 0 (and not SI_TKILL) may be
    // forged; the caller may send itself anything.
    if (p.get() != &t.process() && (info.si_code >= 0 || info.si_code == kSiTkill))
        return err(Errno::PERM);
    if (!may_signal(t, *p, signo))
        return err(Errno::PERM);
    info.si_signo = signo;
    if (signo)
        p->send_signal(info);
    return 0;
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
        constexpr int kSsOnstack = 1;
        int mode = static_cast<int>(static_cast<u32>(wanted->ss_flags) & ~kSsAutodisarm);
        // SS_ONSTACK is accepted as 0, for old programs (Linux's do_sigaltstack).
        if (mode != 0 && mode != kSsDisable && mode != kSsOnstack)
            return err(Errno::INVAL);
        wanted->ss_flags = mode == kSsDisable ? kSsDisable : static_cast<int>(static_cast<u32>(wanted->ss_flags) & kSsAutodisarm);
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
