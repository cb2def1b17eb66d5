// pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2). Linux: kernel/pid.c,
// kernel/signal.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/task/pidfd.h"

#include <fcntl.h>

namespace umk::kernel {

KResult<RefPtr<Process>> process_of_pidfd(Thread& t, int fd)
{
    auto file = TRY(t.fds().get(fd));
    auto* pidfd = dynamic_cast<PidfdFile*>(file.get());
    if (!pidfd)
        return err(Errno::BADF);
    return pidfd->pidfd().process_ref();
}

KResult<u64> sys_pidfd_open(Thread& t, int pid, u32 flags)
{
    if (flags & ~u32(O_NONBLOCK))
        return err(Errno::INVAL);
    if (pid <= 0)
        return err(Errno::INVAL);
    auto p = t.kernel().find_process(pid);
    if (!p) {
        // A thread that is not a group leader: EINVAL, else no such pid.
        return err(t.kernel().find_thread_group(pid) ? Errno::INVAL : Errno::SRCH);
    }
    return install_fd(t, make_pidfd(p, static_cast<int>(flags)), true);
}

KResult<u64> sys_pidfd_send_signal(Thread& t, int fd, int signo, GuestAddr uinfo, u32 flags)
{
    if (flags)
        return err(Errno::INVAL);
    auto p = TRY(process_of_pidfd(t, fd));
    if (signo < 0 || signo > kSigMax)
        return err(Errno::INVAL);
    if (p->zombie_unlocked())
        return err(Errno::SRCH);
    auto creds = t.process().creds();
    abi::Siginfo info = make_siginfo(signo, kSiUser, t.process().pid(), creds.uid);
    if (!uinfo.null()) {
        info = TRY(copy_in<abi::Siginfo>(t, uinfo.value));
        if (info.si_signo != signo)
            return err(Errno::INVAL);
        // Like rt_sigqueueinfo: only si_code < 0 to another process.
        if (p.get() != &t.process() && (info.si_code >= 0 || info.si_code == kSiTkill))
            return err(Errno::PERM);
    }
    if (!may_signal(t, *p, signo))
        return err(Errno::PERM);
    if (signo)
        p->send_signal(info);
    return 0;
}

// With ptrace's permission (PTRACE_MODE_ATTACH_REALCREDS).
KResult<u64> sys_pidfd_getfd(Thread& t, int fd, int target_fd, u32 flags)
{
    if (flags)
        return err(Errno::INVAL);
    auto p = TRY(process_of_pidfd(t, fd));
    if (p->zombie_unlocked())
        return err(Errno::SRCH);
    if (!ptrace_may_access(t.process(), *p, false))
        return err(Errno::PERM);
    auto file = TRY(p->fds().get(target_fd));
    return install_fd(t, file, true);
}

} // namespace umk::kernel
