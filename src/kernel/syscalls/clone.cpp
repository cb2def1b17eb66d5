// clone(2), fork(2), vfork(2), clone3(2). Linux: kernel/fork.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/task/pidfd.h"
#include "platform/seccomp_trap/layout.h"

#include <sched.h>
#include <signal.h>

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
    GuestAddr pidfd {}; // CLONE_PIDFD: where the new pidfd goes
};

constexpr u64 kProcessOptions = CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_FILES | CLONE_FS | CLONE_SYSVSEM
    | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_UNTRACED | CLONE_PTRACE
    | CLONE_DETACHED | CLONE_PIDFD;

// What a new thread starts with: the creator's registers, rax 0, and the
// stack, TLS and tid pointers clone asked for.
void start_like(Thread& t, Thread& child, const CloneArgs& a)
{
    using R = platform::Registers;
    auto& regs = child.regs();
    regs = t.regs();
    regs[R::RAX] = 0;
    if (a.newsp)
        regs[R::RSP] = a.newsp;
    if (a.flags & CLONE_SETTLS)
        regs[R::FS_BASE] = a.tls;
    child.signal_mask = t.signal_mask;
    child.sched_policy = t.sched_policy.load(); // SCHED_RESET_ON_FORK keeps non-RT policies
    child.mempolicy = t.mempolicy;
    child.seccomp_mode = t.seccomp_mode;
    child.seccomp_filter = t.seccomp_filter;
    child.no_new_privs = t.no_new_privs;
    if (a.flags & CLONE_CHILD_CLEARTID)
        child.clear_child_tid = a.child_tid.value;
}

// ptrace: with PTRACE_O_TRACEFORK/VFORK/CLONE the new task is traced by the
// same tracer from the start, stopping first with SIGSTOP; the parent
// reports the event (Linux's ptrace_init_task and ptrace_event_pid).
struct TraceEvent {
    u32 option { 0 };
    int event { 0 };
};

TraceEvent trace_event_for(const CloneArgs& a)
{
    if (a.flags & CLONE_VFORK)
        return { kPtraceTraceVfork, kPtraceEventVfork };
    if ((a.flags & CSIGNAL) != SIGCHLD)
        return { kPtraceTraceClone, kPtraceEventClone };
    return { kPtraceTraceFork, kPtraceEventFork };
}

void auto_attach(Thread& parent, Thread& child, const TraceEvent& ev)
{
    auto link = parent.traced() ? parent.ptrace_link() : nullptr;
    if (!link || !(link->options & ev.option))
        return;
    Kernel& k = parent.kernel();
    auto child_link = std::make_shared<PtraceLink>();
    child_link->tid = child.tid();
    child_link->tracee = RefPtr<Process>(&child.process());
    child_link->thread = &child;
    child_link->options = link->options;
    {
        std::lock_guard tree(k.tree_lock());
        child_link->tracer = link->tracer;
        if (!child_link->tracer)
            return;
        child_link->tracer->tracees.push_back(child_link);
    }
    child.set_ptrace_link(child_link);
    std::lock_guard lock(child.process().signal_lock());
    child.pending_locked().push(make_siginfo(kSigStop, kSiUser));
}

KResult<u64> clone_thread(Thread& t, const CloneArgs& a)
{
    if ((a.flags & kThreadFlags) != kThreadFlags) {
        // CLONE_THREAD needs CLONE_SIGHAND, which needs CLONE_VM; a thread
        // without shared files or fs context is not supported.
        if (!(a.flags & CLONE_SIGHAND) || !(a.flags & CLONE_VM))
            return err(Errno::INVAL);
        t.kernel().log_once("clone thread", "clone: threads without CLONE_FS|CLONE_FILES not supported: EINVAL");
        return err(Errno::INVAL);
    }
    if (a.flags & ~(kThreadFlags | kThreadOptions | CSIGNAL))
        return err(Errno::INVAL);

    TRY(t.kernel().check_task_limits(t));
    if (t.process().thread_count() >= static_cast<usize>(t.kernel().options().threads_max)) {
        t.kernel().log_once("threads-max", fmt::format("clone: --threads-max={} threads in one process: EAGAIN",
                                                       t.kernel().options().threads_max));
        return err(Errno::AGAIN);
    }
    int tid = t.kernel().allocate_pid();
    auto* context = TRY(t.mm().address_space().create_thread(t.context()));
    auto* thread = new Thread(RefPtr<Process>(&t.process()), tid);
    thread->set_context(*context);
    thread->set_comm(t.comm());
    thread->debug_registers().inherit(t.debug_registers());
    start_like(t, *thread, a);
    // Linux writes these before the child runs; a bad pointer is ignored.
    if (a.flags & CLONE_PARENT_SETTID)
        (void)copy_out(t, a.parent_tid.value, tid);
    if (a.flags & CLONE_CHILD_SETTID)
        (void)copy_out(t, a.child_tid.value, tid);
    auto ev = trace_event_for(a);
    auto_attach(t, *thread, ev);
    t.kernel().start_task(thread);
    t.ptrace_event(ev.option, ev.event, static_cast<u64>(tid));
    return static_cast<u64>(tid);
}

// fork: a new process with a copy-on-write copy of the address space.
// vfork and posix_spawn's CLONE_VM|CLONE_VFORK: the child shares the
// parent's memory and, since the parent sleeps until the child execs or
// exits, runs on the parent thread's host thread (its context); the
// parent gets its FPU state back when it resumes. CLONE_VM without
// CLONE_VFORK: a second process in the same memory, on a new host thread
// of the same host process (the process that dies last kills it).
KResult<u64> clone_process(Thread& t, const CloneArgs& a)
{
    Kernel& k = t.kernel();
    if (a.flags & ~(kProcessOptions | CSIGNAL)) {
        if (a.flags & (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
                       | CLONE_NEWCGROUP | CLONE_NEWTIME)) {
            k.log_once("clone namespaces", "clone: new namespaces not supported: EINVAL");
        }
        return err(Errno::INVAL);
    }
    if ((a.flags & CLONE_FS) && !(a.flags & CLONE_VFORK)) {
        k.log_once("clone fs", "clone: CLONE_FS for a new process not supported: EINVAL");
        return err(Errno::INVAL);
    }
    if (a.flags & CLONE_PARENT && t.process().pid() == 1)
        return err(Errno::INVAL); // Linux: init may not make siblings
    if ((a.flags & CSIGNAL) > static_cast<u64>(kSigMax))
        return err(Errno::INVAL);

    TRY(k.check_task_limits(t));
    // The FPU state of the forking thread: the child's first, or the
    // vfork parent's when it resumes.
    auto fpu = TRY(t.context().fpu_state());
    bool shared_vm = a.flags & CLONE_VM;
    bool borrowed = shared_vm && (a.flags & CLONE_VFORK);
    auto mm = shared_vm ? t.process().mm_ref() : TRY(t.mm().fork());
    platform::Context* context = borrowed ? &t.context()
        : shared_vm                       ? TRY(mm->address_space().create_thread(t.context()))
                                          : &mm->address_space().main_context();
    int pid = k.allocate_pid();
    auto child = Process::fork_from(t, pid, a.flags & CLONE_FILES, static_cast<int>(a.flags & CSIGNAL));
    child->set_mm(mm);
    child->set_creator_tid(t.tid());
    auto* thread = new Thread(child, pid);
    thread->set_context(*context);
    thread->debug_registers().inherit(t.debug_registers());
    if (borrowed) {
        child->mm_borrowed = true;
        thread->borrowed_context = true;
    } else {
        thread->context().set_fpu_state(fpu);
        // A fork child's host thread came from the op thread: the forking
        // thread's CPU affinity is what the child inherits.
        if (!shared_vm)
            if (auto mask = t.context().cpu_affinity())
                (void)thread->context().set_cpu_affinity(*mask);
    }
    if (t.sched_reset_on_fork && child->nice.load() < 0)
        child->nice = 0; // SCHED_RESET_ON_FORK: no negative nice for the child
    start_like(t, *thread, a);
    thread->sigaltstack = t.sigaltstack;

    RefPtr<Process> parent(&t.process());
    if (a.flags & CLONE_PARENT) {
        std::lock_guard tree(k.tree_lock());
        if (auto* grandparent = parent->parent_locked())
            parent = RefPtr<Process>(grandparent);
    }
    // A failure from here on: the pidfd made for the child is closed, a
    // CLONE_VM child's new host thread ends, and the child goes unstarted.
    auto undo = [&](int pidfd, Errno e) {
        if (pidfd >= 0)
            (void)t.fds().close(pidfd);
        if (shared_vm && !borrowed) {
            context->exit_thread();
            mm->address_space().release_thread(*context);
        }
        delete thread;
        return err(e);
    };
    int pidfd = -1;
    if (a.flags & CLONE_PIDFD) {
        auto fd = install_fd(t, make_pidfd(child, 0), true);
        if (!fd)
            return undo(-1, fd.error());
        pidfd = static_cast<int>(*fd);
        if (auto r = copy_out(t, a.pidfd.value, pidfd); !r)
            return undo(pidfd, r.error());
    }
    if (auto added = k.add_process(child, *parent, t.process()); !added)
        return undo(pidfd, added.error());
    if (a.flags & CLONE_PARENT_SETTID)
        (void)copy_out(t, a.parent_tid.value, pid);
    if (a.flags & CLONE_CHILD_SETTID)
        (void)thread->mm().copy_out(a.child_tid.value, std::span(reinterpret_cast<const u8*>(&pid), sizeof pid));
    auto ev = trace_event_for(a);
    auto_attach(t, *thread, ev);
    if (borrowed) {
        t.context_lent = true;
        // The child has the host thread's breakpoint slots to itself.
        t.debug_registers().suspend();
    }
    k.start_task(thread);
    t.ptrace_event(ev.option, ev.event, static_cast<u64>(pid));
    if (a.flags & CLONE_VFORK) {
        bool back = child->wait_vfork_release(t.process());
        if (back)
            t.context_lent = false; // else the child keeps it
        if (borrowed)
            t.context().set_fpu_state(std::move(fpu));
        if (borrowed && back)
            t.debug_registers().resume(t.context());
        t.ptrace_event(kPtraceTraceVforkDone, kPtraceEventVforkDone, static_cast<u64>(pid));
    }
    return static_cast<u64>(pid);
}

KResult<u64> do_clone(Thread& t, const CloneArgs& a)
{
    if ((a.flags & CLONE_SETTLS) && a.tls >= UMK_GUEST_TASK_SIZE)
        return err(Errno::PERM);
    if ((a.flags & CLONE_SIGHAND) && !(a.flags & CLONE_VM))
        return err(Errno::INVAL);
    if (a.flags & CLONE_THREAD) {
        if (a.flags & CLONE_PIDFD)
            return err(Errno::INVAL);
        return clone_thread(t, a);
    }
    if (a.flags & CLONE_SIGHAND) {
        t.kernel().log_once("clone sighand", "clone: CLONE_SIGHAND without CLONE_THREAD not supported: EINVAL");
        return err(Errno::INVAL);
    }
    return clone_process(t, a);
}

} // namespace

KResult<u64> sys_clone(Thread& t, u64 flags, u64 newsp, GuestAddr parent_tid, GuestAddr child_tid, u64 tls)
{
    // clone(2) puts the pidfd where the parent tid would go: not both.
    if ((flags & CLONE_PIDFD) && (flags & CLONE_PARENT_SETTID))
        return err(Errno::INVAL);
    return do_clone(t, CloneArgs { flags, newsp, parent_tid, child_tid, tls, parent_tid });
}

// clone3(2): struct clone_args, versions 0 to 2 (64 to 88 bytes).
KResult<u64> sys_fork(Thread& t) { return do_clone(t, CloneArgs { SIGCHLD, 0, {}, {}, 0 }); }

KResult<u64> sys_vfork(Thread& t) { return do_clone(t, CloneArgs { CLONE_VM | CLONE_VFORK | SIGCHLD, 0, {}, {}, 0 }); }

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
    // Linux: clone3 may not write the pidfd and the parent tid to one place.
    if ((args.flags & CLONE_PIDFD) && (args.flags & CLONE_PARENT_SETTID) && args.pidfd == args.parent_tid)
        return err(Errno::INVAL);
    u64 newsp = args.stack ? args.stack + args.stack_size : 0;
    return do_clone(t, CloneArgs { args.flags | args.exit_signal, newsp, GuestAddr { args.parent_tid },
                                   GuestAddr { args.child_tid }, args.tls, GuestAddr { args.pidfd } });
}

// unshare(2): what a process shares it keeps per process here (fs,
// files, signal handlers for its threads), so unsharing succeeds where
// nothing is shared (one thread) and copies the fd table another process
// shares through CLONE_FILES; System V semaphore undo lists do not exist.
// New namespaces: EINVAL (one of each per guest).
KResult<u64> sys_unshare(Thread& t, u64 flags)
{
    constexpr u64 kNamespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
        | CLONE_NEWCGROUP | CLONE_NEWTIME;
    constexpr u64 kValid = CLONE_THREAD | CLONE_FS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | CLONE_SYSVSEM | kNamespaces;
    if (flags & ~kValid)
        return err(Errno::INVAL);
    if (flags & kNamespaces) {
        t.kernel().log_once("unshare namespaces", "unshare: new namespaces not supported: EINVAL");
        return err(Errno::INVAL);
    }
    bool alone = t.process().thread_count() == 1;
    if ((flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)) && !alone)
        return err(Errno::INVAL); // Linux's check_unshare_flags
    if ((flags & CLONE_VM) && t.kernel().mm_used_elsewhere(t.process(), t.mm()))
        return err(Errno::INVAL);
    if ((flags & (CLONE_FS | CLONE_FILES)) && !alone) {
        t.kernel().log_once("unshare threads", "unshare: CLONE_FS/CLONE_FILES in a threaded process not supported: EINVAL");
        return err(Errno::INVAL);
    }
    if (flags & CLONE_FILES)
        t.process().unshare_fds();
    return 0;
}

} // namespace umk::kernel
