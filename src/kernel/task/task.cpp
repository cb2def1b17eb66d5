#include "kernel/task/task.h"

#include "kernel/abi/x86_flags.h"
#include "kernel/tty/pty.h"

#include "kernel/ipc/timerfd.h"
#include "kernel/kernel.h"
#include "kernel/task/poll_hub.h"
#include "kernel/seccomp/notify.h"
#include "kernel/syscalls/signatures.h"
#include "kernel/syscalls/table.h"
#include "platform/seccomp_trap/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

namespace umk::kernel {

Process::Process(Kernel& kernel, int pid, const std::array<abi::Rlimit, kRlimitCount>& rlimits)
    : m_kernel(kernel), m_pid(pid), m_pgid(pid), m_sid(pid), m_fds(make_ref<FdTable>()), m_rlimits(rlimits)
{
}

RefPtr<Process> Process::make_init(Kernel& kernel)
{
    std::array<abi::Rlimit, kRlimitCount> rlimits;
    for (int r = 0; r < kRlimitCount; r++) {
        struct rlimit host {};
        getrlimit(static_cast<__rlimit_resource>(r), &host);
        rlimits[r] = { host.rlim_cur, host.rlim_max };
    }
    if (auto& o = kernel.options(); o.nofile_max)
        rlimits[RLIMIT_NOFILE] = { o.nofile_cur, o.nofile_max };
    return make_ref<Process>(kernel, 1, rlimits);
}

Process::~Process() = default;

RefPtr<Dentry> Process::exe()
{
    std::lock_guard lock(m_lock);
    return m_exe;
}

void Process::set_exe(RefPtr<Dentry> exe, WriteDenial denial)
{
    // The old ones go after the lock.
    std::lock_guard lock(m_lock);
    std::swap(m_exe, exe);
    std::swap(m_exe_denial, denial);
}

RefPtr<Process> Process::fork_from(Thread& forking, int pid, bool share_fds, int exit_signal)
{
    Process& parent = forking.process();
    RefPtr<Process> child;
    {
        std::lock_guard lock(parent.m_lock);
        child = make_ref<Process>(parent.m_kernel, pid, parent.m_rlimits);
        child->m_fs = parent.m_fs;
        child->m_creds = parent.m_creds;
        child->set_comm(forking.comm()); // the forking thread's name, not the leader's
        child->arg_start = parent.arg_start;
        child->arg_end = parent.arg_end;
        child->env_start = parent.env_start;
        child->env_end = parent.env_end;
        child->saved_auxv = parent.saved_auxv;
    }
    // A fork runs the same file: it holds writers off too (Linux's
    // dup_mm_exe_file), which cannot fail while the parent does.
    if (auto exe = parent.exe()) {
        auto denial = WriteDenial::take(exe->inode());
        child->set_exe(exe, denial ? std::move(*denial) : WriteDenial());
    }
    {
        std::lock_guard lock(parent.m_signal_lock);
        child->m_sigactions = parent.m_sigactions;
    }
    child->m_fds = share_fds ? parent.m_fds : parent.m_fds->clone();
    if (share_fds)
        child->m_fds->attach();
    child->m_exit_signal = exit_signal;
    child->nice = parent.nice.load();
    child->dumpable = parent.dumpable.load();
    child->personality = parent.personality.load();
    child->oom_score_adj = parent.oom_score_adj.load();
    child->oom_score_adj_min = parent.oom_score_adj_min.load();
    child->ioprio = parent.ioprio.load();
    child->m_did_exec = false;
    return child;
}

int Process::ppid()
{
    std::lock_guard lock(m_kernel.tree_lock());
    return m_parent ? m_parent->m_pid : 0;
}

int Process::pgid()
{
    std::lock_guard lock(m_kernel.tree_lock());
    return m_pgid;
}

int Process::sid()
{
    std::lock_guard lock(m_kernel.tree_lock());
    return m_sid;
}

void Process::notify_child_event()
{
    std::lock_guard lock(m_signal_lock);
    m_child_events++;
    for (Thread* t : m_threads)
        t->wake_from_wait_locked();
}

platform::CpuUsage Process::cpu_usage()
{
    std::lock_guard lock(m_lock);
    if (m_final_usage)
        return *m_final_usage;
    auto usage = m_past_usage;
    // A vfork child runs in its parent's host process, whose CPU time is
    // the parent's (20 vfork children that exit without an exec each
    // counted the parent's whole past).
    if (m_mm && !mm_borrowed)
        usage += m_mm->address_space().cpu_usage();
    {
        std::lock_guard threads(m_signal_lock);
        for (Thread* t : m_threads)
            usage.system_ns += t->system_time_ns();
    }
    if (m_threads_gone_once)
        m_final_usage = usage;
    return usage;
}

platform::CpuUsage Process::children_usage()
{
    std::lock_guard lock(m_lock);
    return m_children_usage;
}

void Process::retire_mm_usage()
{
    std::lock_guard lock(m_lock);
    if (m_mm)
        m_past_usage += m_mm->address_space().cpu_usage();
}

void Process::add_children_usage(const platform::CpuUsage& u)
{
    std::lock_guard lock(m_lock);
    m_children_usage += u;
}

void Process::send_parent_death_signal(Process& parent)
{
    if (int signo = pdeath_signal.load(); signo && !zombie_unlocked())
        send_signal(make_siginfo(signo, kSiUser, parent.pid(), parent.creds().uid));
}

void Process::release_vfork()
{
    std::lock_guard lock(m_signal_lock);
    m_vfork_released = true;
    m_vfork_cv.notify_all();
}

bool Process::wait_vfork_release(Process& parent)
{
    // Killable, as Linux's wait_for_vfork_done: a dying parent stops waiting.
    std::unique_lock lock(m_signal_lock);
    while (!m_vfork_released && !parent.dying())
        m_vfork_cv.wait_for(lock, std::chrono::milliseconds(20));
    return m_vfork_released;
}

FsContext Process::fs()
{
    std::lock_guard lock(m_lock);
    return m_fs;
}

Credentials Process::creds()
{
    std::lock_guard lock(m_lock);
    return m_creds;
}

void Process::set_creds(const Credentials& c)
{
    std::lock_guard lock(m_lock);
    // Linux's commit_creds: new effective or fs ids end dumpability and
    // the parent-death signal.
    if (c.euid != m_creds.euid || c.egid != m_creds.egid || c.fsuid != m_creds.fsuid || c.fsgid != m_creds.fsgid
        || (c.cap_permitted & ~m_creds.cap_permitted)) {
        dumpable = false;
        pdeath_signal = 0;
    }
    m_creds = c;
}

void Process::unshare_fds()
{
    std::lock_guard lock(m_lock);
    if (m_fds->users() == 1)
        return;
    auto copy = m_fds->clone();
    m_fds->detach(); // others still use it
    m_fds = copy;
}

abi::Rlimit Process::rlimit(int resource)
{
    std::lock_guard lock(m_lock);
    return m_rlimits[resource];
}

void Process::set_rlimit(int resource, abi::Rlimit limit)
{
    std::lock_guard lock(m_lock);
    m_rlimits[resource] = limit;
}

abi::Sigaction Process::sigaction(int signo)
{
    std::lock_guard lock(m_signal_lock);
    return m_sigactions[signo - 1];
}

bool Process::ignores_locked(int signo) const
{
    u64 handler = m_sigactions[signo - 1].handler;
    if (handler == reinterpret_cast<u64>(SIG_IGN))
        return true;
    return handler == reinterpret_cast<u64>(SIG_DFL) && default_action(signo) == DefaultAction::Ignore;
}

void Process::set_sigaction(int signo, const abi::Sigaction& action)
{
    std::lock_guard lock(m_signal_lock);
    m_sigactions[signo - 1] = action;
    // Linux's do_sigaction: a signal that is now ignored is no longer pending.
    if (ignores_locked(signo)) {
        m_shared_pending.discard(signo);
        for (Thread* t : m_threads)
            t->pending_locked().discard(signo);
    }
}

void Process::reset_sigactions_for_exec()
{
    std::lock_guard lock(m_signal_lock);
    for (auto& a : m_sigactions) {
        if (a.handler != reinterpret_cast<u64>(SIG_IGN))
            a = abi::Sigaction {};
    }
}

bool Process::send_signal(const abi::Siginfo& info, int tid)
{
    int signo = info.si_signo;
    if (signo < 1 || signo > kSigMax)
        return true; // no signal (a 0 is only a permission check)
    // signalfd readers and pollers look again once the lock is released
    // (destroyed after `lock`: PollHub comes after no signal lock).
    struct WakeSignalfds {
        ~WakeSignalfds()
        {
            if (signalfds_exist())
                PollHub::the().notify();
        }
    } wake_signalfds;
    std::unique_lock lock(m_signal_lock);
    Thread* target = tid ? find_thread_locked(tid) : nullptr;
    if (tid && !target)
        return false;
    if (signo == kSigKill) {
        lock.unlock();
        kill_all(kSigKill);
        return true;
    }
    // Linux's prepare_signal: SIGCONT continues the process (whether or
    // not it is blocked or ignored) and drops pending stops; a stop
    // signal drops a pending SIGCONT.
    constexpr int kStops[] = { kSigStop, kSigTstp, kSigTtin, kSigTtou };
    if (signo == kSigCont) {
        for (int stop : kStops) {
            m_shared_pending.discard(stop);
            for (Thread* t : m_threads)
                t->pending_locked().discard(stop);
        }
        if (m_stopped) {
            m_stopped = false;
            m_job_report = JobReport::Continued;
            for (Thread* t : m_threads)
                t->wake_from_wait_locked();
            lock.unlock();
            notify_parent_job(kCldContinued, kSigCont);
            lock.lock();
        }
    } else if (std::find(std::begin(kStops), std::end(kStops), signo) != std::end(kStops)) {
        m_shared_pending.discard(kSigCont);
        for (Thread* t : m_threads)
            t->pending_locked().discard(kSigCont);
    }
    // Ignored signals are dropped unless blocked or traced (Linux:
    // sig_ignored, which for a process looks at its first thread; a
    // tracer sees even ignored signals in their delivery stops).
    if (ignores_locked(signo)) {
        Thread* looked_at = target ? target : (m_threads.empty() ? nullptr : m_threads.front());
        bool blocked = looked_at && (looked_at->signal_mask & sigbit(signo));
        if (!blocked && !(looked_at && looked_at->traced()))
            return true;
    }
    if (target) {
        target->pending_locked().push(info);
        target->signal_wake();
        return true;
    }
    m_shared_pending.push(info);
    // Wake a thread that does not block it (Linux: complete_signal).
    for (Thread* t : m_threads) {
        if (!(t->signal_mask & sigbit(signo))) {
            t->signal_wake();
            return true;
        }
    }
    return true;
}

void Process::group_stop(int signo)
{
    {
        std::lock_guard lock(m_signal_lock);
        if (m_dying || m_stopped)
            return;
        m_stopped = true;
        m_stop_signo = signo;
        m_job_report = JobReport::Stopped;
        for (Thread* t : m_threads)
            t->signal_wake();
    }
    notify_parent_job(kCldStopped, signo);
}

void Process::notify_parent_job(int code, int status)
{
    RefPtr<Process> parent;
    {
        std::lock_guard tree(m_kernel.tree_lock());
        parent = RefPtr<Process>(m_parent);
    }
    if (!parent)
        return;
    if (!(parent->sigaction(kSigChld).flags & SA_NOCLDSTOP)) {
        abi::Siginfo info = make_siginfo(kSigChld, code, m_pid, creds().uid);
        info.chld.status = status;
        parent->send_signal(info);
    }
    parent->notify_child_event();
}

void Process::kill_all(int wait_status)
{
    set_exit_status(wait_status);
    if (wait_status == kSigKill)
        m_sigkilled = true;
    bool first = !m_dying.exchange(true);
    // Once dying, only a SIGKILL wakes the threads again: it ends a
    // PTRACE_EVENT_EXIT stop.
    if (!first && wait_status != kSigKill)
        return;
    // A vfork child lives in its parent's host process, a CLONE_VM child
    // shares one with others: then only its own threads stop (signal_wake
    // below interrupts them) and leave their host threads.
    if (auto mm = mm_ref(); first && mm && !mm_borrowed && !m_kernel.mm_used_elsewhere(*this, *mm)) {
        m_killed_mm = true;
        mm->address_space().kill();
    }
    std::lock_guard lock(m_signal_lock);
    for (Thread* t : m_threads)
        t->signal_wake();
}

void Process::add_thread(Thread& t)
{
    std::lock_guard lock(m_signal_lock);
    m_threads.push_back(&t);
}

void Process::hand_children_to_heir(Thread& t)
{
    int heir = 0;
    {
        std::lock_guard lock(m_signal_lock);
        for (Thread* other : m_threads)
            if (other != &t) {
                heir = other->tid();
                break;
            }
    }
    if (!heir)
        return; // the last thread: the process's exit hands them on
    // Linux's forget_original_parent within the group.
    std::vector<RefPtr<Process>> orphaned;
    {
        std::lock_guard tree(m_kernel.tree_lock());
        for (auto& child : m_children) {
            if (child->m_creator_tid == t.tid()) {
                child->m_creator_tid = heir;
                orphaned.push_back(child);
            }
        }
    }
    for (auto& child : orphaned)
        child->send_parent_death_signal(*this);
}

void Process::remove_thread(Thread& t)
{
    hand_children_to_heir(t);
    bool last;
    {
        std::lock_guard lock(m_signal_lock);
        std::erase(m_threads, &t);
        last = m_threads.empty();
    }
    {
        std::lock_guard lock(m_signal_lock);
        m_threads_gone.notify_all(); // kill_other_threads counts them
    }
    if (last) {
        kill_all((t.exit_code() & 0xff) << 8); // keeps a status already set
        if (m_fds->detach())
            m_fds->close_all(); // a CLONE_FILES table stays with its other users
        m_threads_gone_once = true;
        timers.cancel_all(m_kernel, false);
        cpu_usage(); // frozen from now on
        release_vfork();
        m_kernel.process_exited(*this);
        std::lock_guard lock(m_signal_lock);
        m_threads_gone.notify_all();
    }
}

std::vector<int> Process::thread_ids_locked() const
{
    std::vector<int> ids;
    for (Thread* t : m_threads)
        ids.push_back(t->tid());
    return ids;
}

Thread* Process::find_thread_locked(int tid)
{
    for (Thread* t : m_threads)
        if (t->tid() == tid)
            return t;
    return nullptr;
}

usize Process::thread_count()
{
    std::lock_guard lock(m_signal_lock);
    return m_threads.size();
}

bool Process::kill_other_threads(Thread& survivor)
{
    std::unique_lock lock(m_signal_lock);
    // Linux's de_thread: one execve at a time; a second one loses (its
    // thread is among those the first one ends).
    if (m_exec_in_progress || m_dying)
        return false;
    m_exec_in_progress = true;
    for (Thread* t : m_threads)
        if (t != &survivor)
            t->kill_for_exec();
    m_threads_gone.wait(lock, [&] {
        return m_dying || std::ranges::all_of(m_threads, [&](Thread* t) { return t == &survivor; });
    });
    m_exec_in_progress = false;
    return !m_dying;
}

void Process::wait_threads_gone()
{
    std::unique_lock lock(m_signal_lock);
    m_threads_gone.wait(lock, [&] { return m_threads.empty(); });
}

void Process::set_exit_status(int wait_status)
{
    int unset = -1;
    m_exit_status.compare_exchange_strong(unset, wait_status);
}

std::optional<int> Process::exit_status() const
{
    int s = m_exit_status.load();
    if (s < 0)
        return std::nullopt;
    return s;
}

Thread::Thread(RefPtr<Process> process, int tid) : m_process(std::move(process)), m_tid(tid) {}

namespace {

struct GuestMemoryReader final : strace::MemoryReader {
    explicit GuestMemoryReader(MemoryManager& mm) : m_mm(mm) {}
    std::optional<std::string> read_string(u64 addr, usize max) override
    {
        std::string out;
        while (out.size() < max) {
            char c;
            if (!m_mm.copy_in(addr + out.size(), std::span(reinterpret_cast<u8*>(&c), 1)))
                return out.empty() ? std::nullopt : std::optional(out);
            if (c == '\0')
                break;
            out += c;
        }
        return out;
    }
    std::optional<std::string> read_bytes(u64 addr, usize len) override
    {
        std::string out(len, '\0');
        if (!m_mm.copy_in(addr, std::span(reinterpret_cast<u8*>(out.data()), len)))
            return std::nullopt;
        return out;
    }
    std::optional<u64> read_u64(u64 addr) override
    {
        u64 v;
        if (!m_mm.copy_in(addr, std::span(reinterpret_cast<u8*>(&v), 8)))
            return std::nullopt;
        return v;
    }
    MemoryManager& m_mm;
};

bool is_restart(i64 ret)
{
    return ret == -static_cast<i64>(Errno::RESTARTSYS) || ret == -static_cast<i64>(Errno::RESTARTNOINTR)
        || ret == -static_cast<i64>(Errno::RESTARTNOHAND) || ret == -static_cast<i64>(Errno::RESTART_RESTARTBLOCK);
}

// Calls a patched site would not make faster: they replace the registers
// or the address space, or end the thread.
bool worth_patching(u64 nr)
{
    switch (nr) {
    case 15: // rt_sigreturn
    case 56: // clone
    case 57: // fork
    case 58: // vfork
    case 59: // execve
    case 60: // exit
    case 219: // restart_syscall
    case 231: // exit_group
    case 322: // execveat
    case 435: // clone3
        return false;
    default:
        return nr < 512;
    }
}

} // namespace

void Thread::handle_syscall()
{
    using R = platform::Registers;
    u64 nr = m_regs[R::ORIG_RAX];
    const u64 call_rip = m_regs[R::RIP];
    u64 args[6];
    for (int i = 0; i < 6; i++)
        args[i] = m_regs.syscall_arg(i);

    Kernel& k = kernel();
    bool tracing = k.options().strace_fd >= 0;
    std::string call;
    RefPtr<MemoryManager> traced_mm;
    if (tracing) {
        traced_mm = m_process->mm_ref();
        GuestMemoryReader reader(*traced_mm);
        call = nr == UMK_COMPAT_SYSCALL ? std::string("<compat syscall>(")
                                        : strace::format_call(nr, args, reader);
    }

    // ptrace: the syscall-enter stop, where the tracer may change or cancel
    // (orig_rax -1) the call; SYSEMU stops here only.
    PtraceResume trace_mode = m_traced ? ptrace_resume_mode() : PtraceResume::Cont;
    bool emulated = trace_mode == PtraceResume::Sysemu || trace_mode == PtraceResume::SysemuSingleStep;
    std::optional<i64> cancelled;
    if (trace_mode == PtraceResume::Syscall || emulated) {
        auto link = ptrace_link();
        u32 good = link && (link->options & kPtraceTraceSysGood) ? 0x80 : 0;
        m_regs[R::RAX] = static_cast<u64>(-static_cast<i64>(Errno::NOSYS));
        if (ptrace_stop(((kSigTrap | good) << 8) | 0x7f, std::nullopt, 1 /* PTRACE_SYSCALL_INFO_ENTRY */) >= 0) {
            nr = m_regs[R::ORIG_RAX];
            for (int i = 0; i < 6; i++)
                args[i] = m_regs.syscall_arg(i);
            if (emulated || nr == ~u64 { 0 })
                cancelled = static_cast<i64>(m_regs[R::RAX]);
        }
    }

    KResult<u64> result = err(Errno::NOSYS);
    std::optional<i64> filtered = cancelled;
    if (!filtered && seccomp_mode)
        filtered = seccomp_verdict(nr, args);
    const SyscallEntry& entry = syscall_entry(nr);
    if (filtered) {
        // -1..-4095 are errnos; anything else (a supervisor's or a
        // tracer's value) is the result as it is.
        i64 v = *filtered;
        result = v < 0 && v >= -4095 ? KResult<u64>(err(static_cast<Errno>(-v))) : KResult<u64>(static_cast<u64>(v));
    } else if (entry.handler) {
        platform::CallerScope caller(context(), entry.outputs_last && !tracing && !m_traced);
        u64 stale_before = Inode::stale_found();
        result = entry.handler(*this, args);
        // A file the host removed or replaced behind the dentry cache:
        // once more, looked up afresh (Inode::stale).
        if (!result && result.error() == Errno::STALE && Inode::stale_found() != stale_before)
            result = entry.handler(*this, args);
    } else if (nr != UMK_COMPAT_SYSCALL) {
        auto name = syscall_name(nr);
        k.log_once(fmt::format("syscall {}", nr),
                   fmt::format("unimplemented syscall {} ({}): ENOSYS", name.empty() ? "?" : name, nr));
    }
    i64 ret = result ? static_cast<i64>(*result) : -static_cast<i64>(result.error());
    // ptrace: the syscall-exit stop sees (and may change) the result.
    if (trace_mode == PtraceResume::Syscall && !cancelled && !exiting()) {
        auto link = ptrace_link();
        u32 good = link && (link->options & kPtraceTraceSysGood) ? 0x80 : 0;
        m_regs[R::RAX] = static_cast<u64>(ret);
        if (ptrace_stop(((kSigTrap | good) << 8) | 0x7f, std::nullopt, 2 /* PTRACE_SYSCALL_INFO_EXIT */) >= 0)
            ret = static_cast<i64>(m_regs[R::RAX]);
    }
    // ERESTART* stays inside the kernel: signal delivery turns it into
    // EINTR or a restart of the call.
    m_restart = is_restart(ret) ? ret : 0;

    if (tracing) {
        // strace -f marks lines once there is more than one task.
        bool several = m_process->thread_count() > 1 || k.pids().size() > 1;
        std::string line = several ? fmt::format("[pid {:>5}] {}", m_tid, call) : std::move(call);
        if (exiting() && (nr == 60 || nr == 231)) {
            line += ") = ?";
        } else {
            GuestMemoryReader reader(*traced_mm);
            line += nr == UMK_COMPAT_SYSCALL ? fmt::format(") = {}", ret) : strace::format_result(nr, args, ret, reader);
        }
        k.strace(line);
    }
    m_regs[R::RAX] = static_cast<u64>(ret);
    if (k.options().syscall_patching && !tracing && !m_traced && !exiting() && !context().patched_stop()
        && worth_patching(nr))
        m_process->mm().note_trapped_syscall(call_rip, nr);
}

void Thread::handle_fault(const platform::FaultInfo& fault)
{
    using R = platform::Registers;
    constexpr int kTrapTrace = 2, kTrapHwBreakpoint = 4, kTrapPerf = 6; // si_code
    // A patch's faulting bytes: an invalid opcode (SIGILL), or a read
    // site's `in` (a general protection fault: SIGSEGV, SI_KERNEL).
    if (fault.signo == kSigIll || (fault.signo == kSigSegv && fault.code == kSiKernel)) {
        switch (m_process->mm().patched_site_fault(m_regs[R::RIP])) {
        case MemoryManager::PatchedFault::Syscall:
            // The `syscall` the patch replaced, with the number its `mov` set.
            m_regs[R::RIP] += 2;
            m_regs[R::ORIG_RAX] = m_regs[R::RAX];
            m_regs[R::RCX] = m_regs[R::RIP];
            m_regs[R::R11] = m_regs[R::EFLAGS] & ~abi::kFlagResume; // as after a syscall
            handle_syscall();
            return;
        case MemoryManager::PatchedFault::Compare: {
            // A read site's `cmp $-4096,%rax` (48 3d 00 f0 ff ff), and the
            // trap after it of a thread that single-steps itself.
            m_regs[R::EFLAGS] = abi::compare_flags(m_regs[R::EFLAGS], m_regs[R::RAX], ~u64 { 0xfff });
            m_regs[R::RIP] += 6;
            constexpr int kDebugException = 1; // trapno
            if (m_regs[R::EFLAGS] & abi::kFlagTrap)
                handle_fault({ kSigTrap, kTrapTrace, m_regs[R::RIP], kDebugException, 0, 0 });
            return;
        }
        case MemoryManager::PatchedFault::Retry:
            return;
        case MemoryManager::PatchedFault::None:
            break;
        }
    }
    // Linux's force_sig_fault: a blocked or ignored fault signal takes its
    // default action anyway.
    abi::Siginfo info = make_siginfo(fault.signo, fault.code);
    info.fault.addr = fault.address;
    if (fault.signo == kSigTrap && fault.code == kTrapPerf) {
        // A debugger's hardware breakpoint, as Linux's exc_debug_user
        // reports it; a hit already reported with an earlier trap passes.
        if (!m_debug_registers.trapped(false))
            return;
        info.si_code = kTrapHwBreakpoint;
        info.fault.addr = m_regs[platform::Registers::RIP];
    } else if (fault.signo == kSigTrap && fault.code == kTrapTrace) {
        m_debug_registers.trapped(true);
    }
    force_signal(info);
    m_fault = fault;
}

void Thread::force_signal(const abi::Siginfo& info)
{
    int signo = info.si_signo;
    {
        std::lock_guard lock(m_process->signal_lock());
        auto action = m_process->sigaction_locked(signo);
        bool ignored = action.handler == reinterpret_cast<u64>(SIG_IGN);
        if (ignored || (signal_mask & sigbit(signo))) {
            signal_mask &= ~sigbit(signo);
            if (ignored) {
                action.handler = reinterpret_cast<u64>(SIG_DFL);
                m_process->set_sigaction_locked(signo, action);
            }
        }
        m_pending.push(info);
    }
}

std::optional<i64> Thread::seccomp_verdict(u64& nr, u64 (&args)[6], bool recheck)
{
    using R = platform::Registers;
    // An ia32 call (int $0x80): the filters see it as Linux shows it to
    // them (AUDIT_ARCH_I386, eax and ebx..ebp); umk runs none (ENOSYS).
    bool compat = nr == UMK_COMPAT_SYSCALL;
    auto compat_nr = static_cast<u32>(m_regs[R::RAX]);
    if (seccomp_mode == kSeccompStrict) {
        bool allowed = compat ? (compat_nr == 3 || compat_nr == 4 || compat_nr == 1 || compat_nr == 119)
                              : (nr == 0 || nr == 1 || nr == 60 || nr == 15); // read, write, exit, sigreturn
        if (allowed)
            return std::nullopt;
        die(kSigKill);
        return -static_cast<i64>(Errno::NOSYS);
    }
    seccomp::Data data {};
    data.instruction_pointer = m_regs[R::RIP]; // after the syscall instruction, as Linux
    if (compat) {
        data.nr = static_cast<i32>(compat_nr);
        data.arch = 0x40000003; // AUDIT_ARCH_I386
        const R::Index regs32[] = { R::RBX, R::RCX, R::RDX, R::RSI, R::RDI, R::RBP };
        for (int i = 0; i < 6; i++)
            data.args[i] = static_cast<u32>(m_regs[regs32[i]]);
    } else {
        data.nr = static_cast<i32>(nr);
        data.arch = 0xc000003e; // AUDIT_ARCH_X86_64
        std::copy(std::begin(args), std::end(args), data.args);
    }
    const seccomp::Filter* winner = nullptr;
    u32 verdict = seccomp::run_all(*seccomp_filter, data, &winner);
    u32 value = verdict & seccomp::kRetData;
    switch (verdict & seccomp::kRetActionFull) {
    case seccomp::kRetAllow:
        return std::nullopt;
    case seccomp::kRetLog:
        kernel().log_once(fmt::format("seccomp log {}", nr), fmt::format("seccomp: filter logged syscall {}", nr));
        return std::nullopt;
    case seccomp::kRetErrno:
        return -static_cast<i64>(std::min<u32>(value, 4095));
    case seccomp::kRetTrap: {
        abi::Siginfo info = make_siginfo(kSigSys, 1 /* SYS_SECCOMP */);
        info.si_errno = static_cast<i32>(value);
        info.sys.call_addr = m_regs[platform::Registers::RIP];
        info.sys.syscall = data.nr;
        info.sys.arch = data.arch;
        force_signal(info);
        return compat ? static_cast<i64>(compat_nr) : static_cast<i64>(nr); // Linux's syscall_rollback: rax = orig_rax
    }
    case seccomp::kRetTrace: {
        // After the tracer's turn the call is checked again, where TRACE
        // lets it through (Linux's recheck_after_trace).
        if (recheck)
            return std::nullopt;
        auto link = ptrace_link();
        if (!link || !(link->options & kPtraceTraceSeccomp))
            return -static_cast<i64>(Errno::NOSYS);
        m_regs[platform::Registers::RAX] = static_cast<u64>(-static_cast<i64>(Errno::NOSYS));
        ptrace_stop(((kSigTrap | (kPtraceEventSeccomp << 8)) << 8) | 0x7f, std::nullopt, 3 /* SECCOMP */, value);
        if (exiting() || m_process->dying() || compat)
            return -static_cast<i64>(Errno::NOSYS);
        // The tracer may have changed the call, or skipped it (nr -1:
        // the result is its rax).
        nr = m_regs[platform::Registers::ORIG_RAX];
        for (int i = 0; i < 6; i++)
            args[i] = m_regs.syscall_arg(i);
        if (static_cast<i64>(nr) < 0)
            return static_cast<i64>(m_regs[platform::Registers::RAX]);
        return seccomp_verdict(nr, args, true);
    }
    case seccomp::kRetUserNotif: {
        if (!winner || !winner->notifier)
            return -static_cast<i64>(Errno::NOSYS);
        auto answer = winner->notifier->notify(*this, data);
        if (!answer)
            return -static_cast<i64>(answer.error());
        if (answer->run_call)
            return std::nullopt;
        return answer->result;
    }
    case seccomp::kRetKillThread:
        if (m_process->thread_count() > 1) {
            m_exiting = true;
            return -static_cast<i64>(Errno::NOSYS);
        }
        [[fallthrough]];
    default: // SECCOMP_RET_KILL_PROCESS, and unknown actions as Linux
        die(kSigSys);
        return -static_cast<i64>(Errno::NOSYS);
    }
}

void Thread::die(int wait_status)
{
    m_ends_itself = true;
    m_process->kill_all(wait_status);
    m_exiting = true;
}

void Thread::wake_from_wait()
{
    std::lock_guard lock(m_process->signal_lock());
    m_signal_cv.notify_all();
}

void Thread::end_group(int wait_status)
{
    m_ends_itself = true;
    m_process->kill_all(wait_status);
}

void Thread::exit_thread(int code)
{
    m_ends_itself = true;
    m_exit_code = code;
    m_exiting = true;
}

std::shared_ptr<PtraceLink> Thread::ptrace_link()
{
    std::lock_guard lock(m_process->signal_lock());
    return m_ptrace;
}

void Thread::set_ptrace_link(std::shared_ptr<PtraceLink> link)
{
    std::lock_guard lock(m_process->signal_lock());
    m_ptrace = std::move(link);
    m_traced = m_ptrace != nullptr;
}

PtraceResume Thread::ptrace_resume_mode()
{
    std::lock_guard lock(m_process->signal_lock());
    return m_ptrace ? m_ptrace->resume : PtraceResume::Cont;
}

int Thread::ptrace_stop(int status, std::optional<abi::Siginfo> info, int syscall_op, std::optional<u64> event_msg,
                        bool at_exit)
{
    auto ended = [&] { return at_exit ? m_process->sigkilled() : exiting(); };
    std::shared_ptr<PtraceLink> link;
    {
        std::lock_guard lock(m_process->signal_lock());
        link = m_ptrace;
        if (!link || ended())
            return -1;
        link->stopped = true;
        link->status = status;
        link->reported = false;
        link->siginfo = info;
        link->syscall_op = syscall_op;
        if (event_msg)
            link->event_msg = *event_msg;
        link->resume_signal = 0;
    }
    RefPtr<Process> tracer;
    {
        std::lock_guard tree(kernel().tree_lock());
        tracer = RefPtr<Process>(link->tracer);
    }
    if (!tracer) {
        std::lock_guard lock(m_process->signal_lock());
        link->stopped = false;
        return -1;
    }
    // Linux's do_notify_parent_cldstop(..., CLD_TRAPPED) to the tracer.
    abi::Siginfo chld = make_siginfo(kSigChld, kCldTrapped, m_process->pid(), m_process->creds().uid);
    chld.chld.status = (status >> 8) & 0xff;
    if (!(tracer->sigaction(kSigChld).flags & SA_NOCLDSTOP))
        tracer->send_signal(chld);
    tracer->notify_child_event();
    std::unique_lock lock(m_process->signal_lock());
    m_signal_cv.wait(lock, [&] { return !link->stopped || ended(); });
    link->stopped = false;
    link->syscall_op = 0;
    return link->resume_signal;
}

void Thread::ptrace_event(u32 option, int event, u64 msg, bool at_exit)
{
    std::shared_ptr<PtraceLink> link = ptrace_link();
    if (!link || !(link->options & option))
        return;
    ptrace_stop(((kSigTrap | (event << 8)) << 8) | 0x7f, std::nullopt, 0, msg, at_exit);
}

void Thread::ptrace_quiesce()
{
    std::unique_lock lock(m_process->signal_lock());
    if (!m_ptrace)
        return;
    auto link = m_ptrace;
    link->leaving = true;
    link->idle.wait(lock, [&] { return link->busy == 0; });
}

void Thread::ptrace_exit(int wait_status)
{
    std::shared_ptr<PtraceLink> link;
    {
        std::lock_guard lock(m_process->signal_lock());
        link = std::exchange(m_ptrace, nullptr);
        m_traced = false;
        if (!link)
            return;
        link->thread = nullptr;
        link->stopped = false;
        link->exited = true;
        link->exit_status = wait_status;
        link->reported = false;
    }
    RefPtr<Process> tracer;
    {
        std::lock_guard tree(kernel().tree_lock());
        tracer = RefPtr<Process>(link->tracer);
    }
    if (tracer)
        tracer->notify_child_event();
}

void Thread::set_temporary_mask(u64 mask)
{
    std::lock_guard lock(m_process->signal_lock());
    saved_mask = signal_mask;
    signal_mask = mask & ~kUnblockable;
}

void Thread::kill_for_exec()
{
    m_exiting = true;
    signal_wake();
}

void Thread::mm_release()
{
    release_robust_futexes();
    if (clear_child_tid && copy_out(*this, clear_child_tid, u32 { 0 }))
        kernel().futexes().wake(mm().futex_key(clear_child_tid, true), 1, ~0U);
}

void Thread::release_robust_futexes()
{
    // struct robust_list_head { next; long futex_offset; list_op_pending; }
    constexpr u32 kOwnerDied = 0x40000000, kWaiters = 0x80000000, kTidMask = 0x3fffffff;
    constexpr int kListLimit = 2048; // ROBUST_LIST_LIMIT
    if (!robust_list)
        return;
    auto head = copy_in<std::array<u64, 3>>(*this, robust_list);
    if (!head)
        return;
    i64 offset = static_cast<i64>((*head)[1]);
    auto release = [&](u64 entry) {
        // The low bit marks a PI futex; the word is at entry + offset.
        u64 uaddr = (entry & ~u64 { 1 }) + static_cast<u64>(offset);
        auto word = copy_in<u32>(*this, uaddr);
        if (!word || (*word & kTidMask) != static_cast<u32>(m_tid))
            return;
        if (!copy_out(*this, uaddr, (*word & kWaiters) | kOwnerDied))
            return;
        if (*word & kWaiters)
            kernel().futexes().wake(mm().futex_key(uaddr, true), 1, ~0U);
    };
    u64 pending = (*head)[2];
    u64 entry = (*head)[0];
    for (int i = 0; i < kListLimit && entry != robust_list; i++) {
        auto next = copy_in<u64>(*this, entry & ~u64 { 1 });
        if (!next)
            break;
        if (entry != pending)
            release(entry);
        entry = *next;
    }
    if (pending)
        release(pending);
}

void Thread::signal_wake()
{
    m_signal_cv.notify_all();
    if (m_in_guest.load() && m_context)
        m_context->interrupt();
}

bool Thread::has_deliverable_locked()
{
    u64 pending = m_pending.pending() | m_process->shared_pending_locked().pending();
    // A group stop ends blocking calls too: they restart once continued.
    return (pending & ~signal_mask) || m_process->dying() || m_process->stopped_locked() || m_exiting;
}

void Thread::wait_while_stopped()
{
    std::unique_lock lock(m_process->signal_lock());
    m_signal_cv.wait(lock, [&] { return !m_process->stopped_locked() || m_process->dying(); });
}

namespace {

constexpr u64 kSaRestart = 0x10000000, kSaNodefer = 0x40000000, kSaResethand = 0x80000000;

} // namespace

void Thread::deliver_signals()
{
    using R = platform::Registers;
    bool handled = false;
    while (!exiting()) {
        abi::Siginfo info;
        abi::Sigaction action;
        {
            std::lock_guard lock(m_process->signal_lock());
            auto taken = m_pending.take(~signal_mask);
            if (!taken)
                taken = m_process->shared_pending_locked().take(~signal_mask);
            if (!taken)
                break;
            info = *taken;
        }
        if (info.si_code == -2) // SI_TIMER: its timer may fire again
            m_process->timers.dequeued(info);
        // ptrace: the signal-delivery stop. The tracer passes the signal on,
        // another one, or none.
        if (m_traced && info.si_signo != kSigKill) {
            int given = ptrace_stop((info.si_signo << 8) | 0x7f, info);
            if (given == 0)
                continue;
            if (given > 0 && given != info.si_signo) {
                auto link = ptrace_link();
                if (link && link->siginfo && link->siginfo->si_signo == given)
                    info = *link->siginfo;
                else
                    info = make_siginfo(given, kSiUser);
            } else if (given > 0) {
                auto link = ptrace_link();
                if (link && link->siginfo && link->siginfo->si_signo == given)
                    info = *link->siginfo; // PTRACE_SETSIGINFO
            }
            std::lock_guard lock(m_process->signal_lock());
            if (signal_mask & sigbit(info.si_signo)) {
                m_pending.push(info); // blocked now: stays pending
                continue;
            }
        }
        {
            std::lock_guard lock(m_process->signal_lock());
            action = m_process->sigaction_locked(info.si_signo);
            if (action.handler > reinterpret_cast<u64>(SIG_IGN) && (action.flags & kSaResethand)) {
                // Only the handler goes back to SIG_DFL; flags and mask stay.
                auto reset = action;
                reset.handler = reinterpret_cast<u64>(SIG_DFL);
                m_process->set_sigaction_locked(info.si_signo, reset);
            }
        }
        int signo = info.si_signo;
        std::optional<platform::FaultInfo> fault;
        if (m_fault && m_fault->signo == signo)
            fault = std::exchange(m_fault, std::nullopt);
        if (action.handler == reinterpret_cast<u64>(SIG_IGN))
            continue;
        if (action.handler == reinterpret_cast<u64>(SIG_DFL)) {
            switch (default_action(signo)) {
            case DefaultAction::Ignore:
            case DefaultAction::Continue:
                continue;
            case DefaultAction::Stop: {
                // Terminal stops in an orphaned group are dropped (nobody
                // would continue them); SIGSTOP always stops.
                bool orphaned = false;
                if (signo != kSigStop) {
                    std::lock_guard tree(kernel().tree_lock());
                    orphaned = kernel().pgrp_orphaned_locked(m_process->pgid_locked());
                }
                if (!orphaned)
                    m_process->group_stop(signo);
                continue;
            }
            case DefaultAction::Terminate:
                die(signo);
                return;
            case DefaultAction::Core:
                // Linux reports a core dump (0x80) when RLIMIT_CORE lets
                // one be written. umk writes none; the status says what
                // the same program with the same limits gets natively.
                die(signo | (m_process->rlimit(RLIMIT_CORE).cur ? 0x80 : 0));
                return;
            }
        }
        // A handler runs: the interrupted syscall returns EINTR or restarts.
        if (m_restart) {
            bool restart = m_restart == -static_cast<i64>(Errno::RESTARTNOINTR)
                || (m_restart == -static_cast<i64>(Errno::RESTARTSYS) && (action.flags & kSaRestart));
            if (restart) {
                m_regs[R::RAX] = m_regs[R::ORIG_RAX];
                m_regs[R::RIP] -= 2;
            } else {
                m_regs[R::RAX] = static_cast<u64>(-static_cast<i64>(Errno::INTR));
            }
            m_restart = 0;
        }
        u64 old_mask = saved_mask.value_or(signal_mask);
        if (auto r = setup_signal_frame(*this, info, action, old_mask, fault ? &*fault : nullptr); !r) {
            die(kSigSegv); // Linux's force_sigsegv: the frame could not be written
            return;
        }
        saved_mask.reset();
        std::lock_guard lock(m_process->signal_lock());
        signal_mask |= action.mask | ((action.flags & kSaNodefer) ? 0 : sigbit(signo));
        signal_mask &= ~kUnblockable;
        handled = true;
    }
    if (m_restart && !exiting()) {
        // No handler ran: the call starts over (Linux: the ERESTART* codes
        // without a handler).
        m_regs[platform::Registers::RAX] = m_regs[platform::Registers::ORIG_RAX];
        m_regs[platform::Registers::RIP] -= 2;
        m_restart = 0;
    }
    if (!handled && saved_mask) {
        signal_mask = *saved_mask;
        saved_mask.reset();
    }
}

static thread_local Thread* t_current = nullptr;

Thread* current_thread() { return t_current; }

bool ptrace_may_access(Process& caller, Process& target, bool fscreds)
{
    auto me = caller.creds();
    auto them = target.creds();
    if (me.has(kCapSysPtrace))
        return true;
    u32 uid = fscreds ? me.fsuid : me.uid, gid = fscreds ? me.fsgid : me.gid;
    return target.dumpable && uid == them.uid && uid == them.euid && uid == them.suid && gid == them.gid
        && gid == them.egid && gid == them.sgid;
}

static u64 cpu_clock_ns(clockid_t clock)
{
    timespec ts {};
    if (clock == -1 || clock_gettime(clock, &ts) != 0)
        return 0;
    return static_cast<u64>(ts.tv_sec) * 1000000000 + static_cast<u64>(ts.tv_nsec);
}

u64 Thread::system_time_ns() const
{
    clockid_t clock = m_task_clock.load(std::memory_order_acquire); // after the base
    if (clock == -1)
        return 0;
    return cpu_clock_ns(clock) - m_task_clock_base;
}

std::optional<platform::CpuUsage> Thread::cpu_usage()
{
    auto user = m_context ? m_context->cpu_time_ns() : std::nullopt;
    if (!user)
        return std::nullopt;
    return platform::CpuUsage { *user, system_time_ns() };
}

void Thread::run()
{
    t_current = this;
    if (clockid_t clock; pthread_getcpuclockid(pthread_self(), &clock) == 0) {
        m_task_clock_base = cpu_clock_ns(clock);
        m_task_clock.store(clock, std::memory_order_release);
    }
    platform::FaultInfo fault;
    while (!exiting()) {
        // A signal sent from now on interrupts the guest code; one sent
        // before is seen by the check below (both sides are seq_cst).
        // Nothing to deliver, restart or wait for (the common case after a
        // syscall): straight back to the guest, with one lock taken.
        m_in_guest = true;
        bool clear = !m_restart && !saved_mask;
        if (clear) {
            std::lock_guard lock(m_process->signal_lock());
            clear = !has_deliverable_locked();
        }
        if (!clear) {
            m_in_guest = false;
            context().write_outputs(); // before anyone sees the thread stopped, or a signal frame
            wait_while_stopped();
            deliver_signals();
            wait_while_stopped();
            if (exiting())
                break;
            m_in_guest = true;
            std::lock_guard lock(m_process->signal_lock());
            if (has_deliverable_locked()) {
                m_in_guest = false;
                continue;
            }
        }
        if (m_traced) {
            auto mode = ptrace_resume_mode();
            if ((mode == PtraceResume::SingleStep || mode == PtraceResume::SysemuSingleStep)
                && !(m_regs[platform::Registers::EFLAGS] & abi::kFlagTrap)) {
                m_regs[platform::Registers::EFLAGS] |= abi::kFlagTrap;
                m_step_flag_set = true;
            }
        }
        auto stop = context().switch_to_guest(m_regs, fault);
        m_in_guest = false;
        if (std::exchange(m_step_flag_set, false))
            m_regs[platform::Registers::EFLAGS] &= ~abi::kFlagTrap;
        switch (stop) {
        case platform::StopReason::Syscall:
            handle_syscall();
            break;
        case platform::StopReason::Fault:
            handle_fault(fault);
            break;
        case platform::StopReason::Interrupt:
            break; // signals are delivered at the top of the loop
        case platform::StopReason::Exited:
            // The host process or this thread's host thread died under the
            // guest (it can always kill itself): the guest process dies
            // with SIGKILL.
            m_process->kill_all(SIGKILL);
            break;
        }
    }
    if (!context_lent)
        context().write_outputs();
    // Linux's ptrace_event(PTRACE_EVENT_EXIT) in do_exit: not for threads a
    // group exit took (SIGKILL is pending in them), nor after a SIGKILL.
    if (m_ends_itself)
        ptrace_event(kPtraceTraceExit, kPtraceEventExit,
                     static_cast<u64>(m_process->exit_status().value_or((m_exit_code & 0xff) << 8)), true);
    ptrace_quiesce();
    m_debug_registers.clear(); // its host thread may go on (a vfork child's)
    // Unless its death killed the address space, this thread leaves its
    // host thread (a vfork child's own threads, and a CLONE_VM child's,
    // leave a host process that goes on).
    // A context lent to a vfork child stays with it.
    bool own_context = !borrowed_context && !context_lent;
    if (!m_process->killed_mm() && own_context) {
        // This thread alone ends: its children go to another thread first,
        // so that whoever learns of its end from clear_child_tid
        // (pthread_join) sees them there; then its host thread goes.
        m_process->hand_children_to_heir(*this);
        mm_release();
        context().exit_thread();
    }
    // Keeps the process, and the address space our context belongs to, alive
    // until the end (an execve in another thread may replace the latter).
    RefPtr<Process> process = m_process;
    RefPtr<MemoryManager> own_mm = process->mm_ref();
    {
        // Our task time moves into the process's past before we leave its
        // thread list (cpu_usage() reads the live ones under the lock).
        std::lock_guard lock(process->lock());
        u64 ns = system_time_ns();
        m_task_clock = -1;
        process->add_system_time_locked(ns);
    }
    process->remove_thread(*this);
    // Only now: a thread in its process's list always has its context.
    if (own_context && own_mm) // the vfork parent's host thread goes on
        own_mm->address_space().release_thread(context());
    ptrace_exit(process->exit_status().value_or((m_exit_code & 0xff) << 8));
    t_current = nullptr;
}

} // namespace umk::kernel
