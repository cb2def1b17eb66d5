// clone(2) for threads. Linux: kernel/fork.c. New processes (fork, vfork,
// CLONE_VM without CLONE_THREAD) come with the processes issue.
#include "kernel/syscalls/handlers.h"

#include "platform/seccomp_trap/layout.h"

#include <sched.h>

#include <thread>

namespace umk::kernel {

namespace {

constexpr u64 kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
constexpr u64 kThreadOptions = CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
    | CLONE_CHILD_SETTID | CLONE_DETACHED;

struct CloneArgs {
    u64 flags;
    u64 newsp;
    GuestAddr parent_tid, child_tid;
    u64 tls;
};

KResult<u64> do_clone(Thread& t, const CloneArgs& a)
{
    if ((a.flags & kThreadFlags) != kThreadFlags) {
        t.kernel().log_once("clone process", "clone: new processes (fork, vfork, posix_spawn) not supported yet: ENOSYS");
        return err(Errno::NOSYS);
    }
    if (a.flags & ~(kThreadFlags | kThreadOptions | CSIGNAL))
        return err(Errno::INVAL);
    if ((a.flags & CLONE_SETTLS) && a.tls >= UMK_GUEST_TASK_SIZE)
        return err(Errno::PERM);

    int tid = t.kernel().allocate_pid();
    auto* context = TRY(t.mm().address_space().create_thread(t.context()));
    auto* thread = new Thread(RefPtr<Process>(&t.process()), tid);
    thread->set_context(*context);
    using R = platform::Registers;
    auto& regs = thread->regs();
    regs = t.regs();
    regs[R::RAX] = 0;
    if (a.newsp)
        regs[R::RSP] = a.newsp;
    if (a.flags & CLONE_SETTLS)
        regs[R::FS_BASE] = a.tls;
    thread->signal_mask = t.signal_mask;
    if (a.flags & CLONE_CHILD_CLEARTID)
        thread->clear_child_tid = a.child_tid.value;
    // Linux writes these before the child runs; a bad pointer is ignored.
    if (a.flags & CLONE_PARENT_SETTID)
        (void)copy_out(t, a.parent_tid.value, tid);
    if (a.flags & CLONE_CHILD_SETTID)
        (void)copy_out(t, a.child_tid.value, tid);
    std::thread([thread] {
        thread->run();
        delete thread;
    }).detach();
    return static_cast<u64>(tid);
}

} // namespace

KResult<u64> sys_clone(Thread& t, u64 flags, u64 newsp, GuestAddr parent_tid, GuestAddr child_tid, u64 tls)
{
    return do_clone(t, CloneArgs { flags, newsp, parent_tid, child_tid, tls });
}

// clone3(2): struct clone_args, versions 0 to 2 (64 to 88 bytes).
KResult<u64> sys_clone3(Thread& t, GuestAddr uargs, u64 size)
{
    struct {
        u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
    } args {};
    static_assert(sizeof args == 88);
    if (size < 64 || size > kPageSize)
        return err(Errno::INVAL);
    TRY(t.mm().copy_in(uargs.value, std::span(reinterpret_cast<u8*>(&args), std::min<u64>(size, sizeof args))));
    // Bytes of a newer struct than ours must be zero.
    for (u64 off = sizeof args; off < size; off++)
        if (TRY(copy_in<u8>(t, uargs.value + off)))
            return err(Errno::TOOBIG);
    if (args.exit_signal & ~u64(CSIGNAL))
        return err(Errno::INVAL);
    if ((args.flags & (CLONE_THREAD | CLONE_PARENT)) && args.exit_signal)
        return err(Errno::INVAL);
    if (args.flags & CSIGNAL)
        return err(Errno::INVAL); // the signal goes in exit_signal
    if ((args.stack == 0) != (args.stack_size == 0))
        return err(Errno::INVAL);
    if (args.set_tid || args.set_tid_size || args.cgroup) {
        t.kernel().log_once("clone3 set_tid", "clone3: set_tid and CLONE_INTO_CGROUP not supported: EINVAL");
        return err(Errno::INVAL);
    }
    u64 newsp = args.stack ? args.stack + args.stack_size : 0;
    return do_clone(t, CloneArgs { args.flags | args.exit_signal, newsp, GuestAddr { args.parent_tid },
                                   GuestAddr { args.child_tid }, args.tls });
}

} // namespace umk::kernel
