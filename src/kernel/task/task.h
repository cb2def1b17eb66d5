#pragma once

// Processes (thread groups) and threads. Linux: kernel/fork.c, exit.c.
//
// Lock order: Process::m_lock, then FdTable / MemoryManager locks.

#include "kernel/abi/linux.h"
#include "kernel/mm/memory_manager.h"
#include "kernel/seccomp/filter.h"
#include "kernel/signals/signals.h"
#include "kernel/task/credentials.h"
#include "kernel/task/debug_registers.h"
#include "kernel/task/fd_table.h"
#include "kernel/task/ptrace.h"
#include "kernel/time/process_timers.h"
#include "kernel/vfs/dentry.h"
#include "platform/context.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>

namespace umk::kernel {

class Kernel;
class PtyPair;
class Thread;

inline constexpr int kRlimitCount = 16;
inline constexpr int kSignalCount = 64;

// Filesystem context: root, cwd, umask (Linux's struct fs_struct).
struct FsContext {
    RefPtr<Dentry> root;
    RefPtr<Dentry> cwd;
    u32 umask { 022 };
};

// A task's name (Linux's comm, TASK_COMM_LEN - 1 bytes at most): exec,
// prctl and /proc set it while other threads read it.
class TaskName {
public:
    std::string get() const
    {
        std::lock_guard lock(m_lock);
        return m_name;
    }
    void set(std::string_view name)
    {
        std::lock_guard lock(m_lock);
        m_name = name.substr(0, 15);
    }

private:
    mutable std::mutex m_lock;
    std::string m_name;
};

class Process : public RefCounted {
public:
    Process(Kernel& kernel, int pid, const std::array<abi::Rlimit, kRlimitCount>& rlimits);
    ~Process() override;
    // The first process's: the host's limits of the umk process, with
    // the options' RLIMIT_NOFILE.
    static RefPtr<Process> make_init(Kernel& kernel);
    // fork(2): a copy of the process of thread `forking` (credentials,
    // limits, dispositions, fs context, fds unless `share_fds`) as its
    // child, named as that thread is; no threads, no mm.
    static RefPtr<Process> fork_from(Thread& forking, int pid, bool share_fds, int exit_signal);

    Kernel& kernel() { return m_kernel; }
    int pid() const { return m_pid; }
    // The process tree: guarded by the kernel's tree_lock().
    int ppid();
    int pgid();
    int sid();
    Process* parent_locked() { return m_parent; }
    void set_parent_locked(Process* p) { m_parent = p; }
    std::vector<RefPtr<Process>>& children_locked() { return m_children; }
    int pgid_locked() const { return m_pgid; }
    int sid_locked() const { return m_sid; }
    void set_pgid_locked(int pgid) { m_pgid = pgid; }
    void set_sid_locked(int sid) { m_sid = sid; }
    // The parent's thread that forked it (__WNOTHREAD), handed to another
    // thread of the parent when that one exits.
    int creator_tid_locked() const { return m_creator_tid; }
    void set_creator_tid(int tid) { m_creator_tid = tid; }
    // The signal the parent gets when this process ends (0: none).
    int exit_signal() const { return m_exit_signal; }
    // All threads gone, not yet reaped by wait(2). Under tree_lock().
    bool zombie_locked() const { return m_zombie; }
    void set_zombie_locked() { m_zombie = true; }
    // Whether it ever ran execve (setpgid on a child fails after that).
    bool did_exec() const { return m_did_exec; }
    void set_did_exec() { m_did_exec = true; }
    // A vfork child until it execs: it runs in its parent's address space,
    // on the parent's host thread, which it must leave alive.
    std::atomic<bool> mm_borrowed { false };
    // Its death killed its address space (no other process used it).
    bool killed_mm() const { return m_killed_mm; }
    // Its session's controlling terminal (a pty slave), or null. Under the
    // kernel's tree_lock(). Inherited by fork, dropped by setsid.
    RefPtr<PtyPair> ctty;
    // Its controlling terminal is the user's own (the console umk was
    // given), as the guest's first process starts: /dev/tty opens it.
    // Inherited by fork; setsid, or a pty becoming the terminal, drops it.
    std::atomic<bool> console_ctty { false };
    // PR_SET_PDEATHSIG: sent when the thread that forked it (or the whole
    // parent) goes. Not inherited by fork; kept across execve.
    std::atomic<int> pdeath_signal { 0 };
    // setpriority(2)'s nice value; personality(2). Inherited by fork.
    std::atomic<int> nice { 0 };
    std::atomic<u32> personality { 0 };
    // /proc/PID/oom_score_adj: kept and inherited; nothing acts on it (the
    // guest has no OOM killer of its own).
    std::atomic<int> oom_score_adj { 0 };
    std::atomic<int> oom_score_adj_min { 0 }; // the lowest a privileged writer set
    std::atomic<int> ioprio { 0 }; // ioprio_set(2); IOPRIO_CLASS_NONE
    // PR_SET_DUMPABLE: cleared when the effective ids change and by a
    // secure execve; then only root may ptrace the process or open its
    // /proc/PID/mem.
    std::atomic<bool> dumpable { true };
    // execve: a CLONE_FILES table is copied, not shared any more.
    void unshare_fds();
    // PR_SET_KEEPCAPS (kept across fork, cleared by execve in Linux).
    // PR_SET_CHILD_SUBREAPER.
    std::atomic<bool> child_subreaper { false };

    // Job control (Linux's group stop). Stops every thread of the process
    // at its next return to guest code, tells the parent (SIGCHLD with
    // CLD_STOPPED unless SA_NOCLDSTOP, wait with WUNTRACED).
    void group_stop(int signo);
    bool stopped_locked() const { return m_stopped; }
    // What wait(2) may report once: a stop (WUNTRACED) or a continue
    // (WCONTINUED). Under signal_lock().
    enum class JobReport { None, Stopped, Continued };
    JobReport job_report_locked() const { return m_job_report; }
    int stop_signal_locked() const { return m_stop_signo; }
    void consume_job_report_locked() { m_job_report = JobReport::None; }

    // A child changed state: wake this process's threads that wait(2).
    void notify_child_event();
    u64 child_events_locked() const { return m_child_events; }

    // CPU time (Linux's task_cputime): this process's, earlier images'
    // included, frozen when it ends; and its reaped children's (theirs
    // included), for RUSAGE_CHILDREN and times().
    platform::CpuUsage cpu_usage();
    platform::CpuUsage children_usage();
    // execve: the image going away adds what it used.
    void retire_mm_usage();
    void add_children_usage(const platform::CpuUsage&);
    // A thread's kernel-side time (its task thread's CPU clock) at its end.
    void add_system_time_locked(u64 ns) { m_past_usage.system_ns += ns; }

    // Its parent (thread) went: PR_SET_PDEATHSIG's signal, if any.
    void send_parent_death_signal(Process& parent);
    bool zombie_unlocked() const { return m_threads_gone_once.load(); }

    // vfork: the parent's thread sleeps until the child execs or ends.
    void release_vfork();
    // Whether the child released it (else the parent is dying).
    bool wait_vfork_release(Process& parent);

    MemoryManager& mm() { return *m_mm; }
    // A reference for anyone but the process's own threads (procfs, other
    // processes): execve may replace the address space meanwhile.
    RefPtr<MemoryManager> mm_ref()
    {
        std::lock_guard lock(m_lock);
        return m_mm;
    }
    // Returns the old one, dropped after the lock (the last reference to an
    // address space kills its host process).
    RefPtr<MemoryManager> set_mm(RefPtr<MemoryManager> mm)
    {
        std::lock_guard lock(m_lock);
        return std::exchange(m_mm, std::move(mm));
    }
    FdTable& fds() { return *m_fds; }

    std::mutex& lock() { return m_lock; }
    FsContext& fs_locked() { return m_fs; }
    FsContext fs();
    Credentials creds();
    void set_creds(const Credentials& c);
    // Applies `change` to a copy of the credentials; installs it unless
    // the change fails. One change at a time (another thread's would be
    // lost in between).
    template <class Change>
    KResult<void> update_creds(Change change)
    {
        std::lock_guard serial(m_creds_update_lock);
        auto c = creds();
        TRY(change(c));
        set_creds(c);
        return {};
    }

    abi::Rlimit rlimit(int resource);
    void set_rlimit(int resource, abi::Rlimit);

    // Signals. Lock order: signal_lock() is taken after lock(), never
    // before; nothing blocks while holding it but condition waits.
    std::mutex& signal_lock() { return m_signal_lock; }
    abi::Sigaction sigaction(int signo);
    abi::Sigaction sigaction_locked(int signo) const { return m_sigactions[signo - 1]; }
    void set_sigaction_locked(int signo, const abi::Sigaction& a) { m_sigactions[signo - 1] = a; }
    // Sets an action; pending instances that become ignored are dropped.
    void set_sigaction(int signo, const abi::Sigaction&);
    void reset_sigactions_for_exec();
    // kill(2) semantics for this process (tid 0) or one of its threads
    // (tgkill): ignored signals are dropped at once, SIGKILL kills. False
    // when there is no thread `tid`.
    bool send_signal(const abi::Siginfo&, int tid = 0);
    SignalQueue& shared_pending_locked() { return m_shared_pending; }
    bool ignores_locked(int signo) const;

    // The guest process is going away (exit_group, a fatal signal).
    void kill_all(int wait_status);
    bool dying() const { return m_dying.load(); }
    // A SIGKILL came, first or after the process began to go: it ends a
    // thread's PTRACE_EVENT_EXIT stop, or keeps it from stopping there.
    bool sigkilled() const { return m_sigkilled.load(); }

    // Threads of this group. When the last one goes without an exit
    // status set (all left by exit(2)), the last one's code is the
    // process's.
    void add_thread(Thread&);
    void remove_thread(Thread&);
    // A thread ends: its children (the processes it forked) go to another
    // thread of the process, if one is left.
    void hand_children_to_heir(Thread&);
    Thread* find_thread_locked(int tid);
    std::vector<int> thread_ids_locked() const;
    usize thread_count();
    // Blocks until every thread of the process is gone.
    void wait_threads_gone();
    // execve: ends every other thread and waits until they are gone.
    bool kill_other_threads(Thread& survivor);

    // Interval and POSIX timers.
    ProcessTimers timers;
    // ptrace: the threads this process traces (under the kernel's tree_lock).
    std::vector<std::shared_ptr<PtraceLink>> tracees;

    // The executable it runs (Linux's mm->exe_file), none once it exited;
    // meanwhile `denial` keeps writers off it (ETXTBSY).
    RefPtr<Dentry> exe();
    void set_exe(RefPtr<Dentry> exe, WriteDenial denial);
    // Where argv and envp strings live in guest memory (for /proc).
    u64 arg_start { 0 }, arg_end { 0 }, env_start { 0 }, env_end { 0 };
    std::vector<u8> saved_auxv; // as execve gave it, for /proc/PID/auxv
    const std::chrono::steady_clock::time_point start_time { std::chrono::steady_clock::now() };
    // Its name: its leader thread's (Thread::comm).
    std::string comm() const { return m_comm.get(); }
    void set_comm(std::string_view name) { m_comm.set(name); }

    // exit_group: the process's exit status, as wait(2) encodes it.
    void set_exit_status(int wait_status);
    std::optional<int> exit_status() const;

private:
    TaskName m_comm;
    Kernel& m_kernel;
    int m_pid, m_pgid, m_sid;
    Process* m_parent { nullptr }; // the parent's children hold us
    std::vector<RefPtr<Process>> m_children;
    int m_exit_signal { 0 };
    int m_creator_tid { 0 };
    bool m_zombie { false };
    std::atomic<bool> m_did_exec { false };
    u64 m_child_events { 0 }; // guarded by m_signal_lock
    bool m_stopped { false };  // guarded by m_signal_lock
    int m_stop_signo { 0 };
    JobReport m_job_report { JobReport::None };
    // Tells the parent of a stop or continue (SIGCHLD unless SA_NOCLDSTOP).
    void notify_parent_job(int code, int status);
    bool m_vfork_released { false };
    bool m_exec_in_progress { false }; // under m_signal_lock
    platform::CpuUsage m_past_usage, m_children_usage; // guarded by m_lock
    std::optional<platform::CpuUsage> m_final_usage;
    std::atomic<bool> m_threads_gone_once { false };
    std::condition_variable m_vfork_cv; // with m_signal_lock
    std::mutex m_lock;
    std::mutex m_creds_update_lock; // before m_lock
    std::atomic<bool> m_killed_mm { false };
    RefPtr<MemoryManager> m_mm;
    RefPtr<FdTable> m_fds;
    FsContext m_fs;
    Credentials m_creds;
    std::array<abi::Rlimit, kRlimitCount> m_rlimits {};
    std::array<abi::Sigaction, kSignalCount> m_sigactions {};
    std::mutex m_signal_lock;
    SignalQueue m_shared_pending;
    std::vector<Thread*> m_threads; // raw: a thread removes itself before it goes
    std::condition_variable m_threads_gone;
    std::atomic<bool> m_dying { false };
    std::atomic<bool> m_sigkilled { false };
    RefPtr<Dentry> m_exe; // under m_lock, with its denial
    WriteDenial m_exe_denial;
    std::atomic<int> m_exit_status { -1 };
};

class Thread {
public:
    // The context comes with the first execve (or the clone that made it).
    Thread(RefPtr<Process> process, int tid);

    Process& process() { return *m_process; }
    Kernel& kernel() { return m_process->kernel(); }
    int tid() const { return m_tid; }
    // execve from a non-leader thread: it takes the leader's tid.
    void set_tid(int tid) { m_tid = tid; }
    // Its name (prctl PR_SET_NAME, /proc/PID/task/TID/comm): the
    // leader's is its process's (/proc/PID/comm); another thread starts
    // with the name of the thread that made it.
    bool leader() const { return m_tid == m_process->pid(); }
    std::string comm() { return leader() ? m_process->comm() : m_comm.get(); }
    void set_comm(std::string_view name)
    {
        if (leader())
            m_process->set_comm(name);
        else
            m_comm.set(name);
    }
    platform::Registers& regs() { return m_regs; }
    platform::Context& context() { return *m_context; }
    // A new host thread (clone, execve): no breakpoints on it yet.
    void set_context(platform::Context& c)
    {
        m_context = &c;
        m_debug_registers.clear();
    }
    // DR0-DR7 as a debugger sees them (ptrace).
    DebugRegisters& debug_registers() { return m_debug_registers; }
    MemoryManager& mm() { return m_process->mm(); }
    FdTable& fds() { return m_process->fds(); }

    // Runs the guest thread (already in its process's thread list) until
    // it exits; returns when it has.
    void run();
    bool exiting() const { return m_exiting || m_process->dying(); }
    // CPU time its task thread (umk's kernel side of it) has used: the
    // guest's system time.
    u64 system_time_ns() const;
    // This thread's CPU time: its host thread's (user) and its task
    // thread's (system), when the host shows the former.
    std::optional<platform::CpuUsage> cpu_usage();

    // Signals. `pending_locked` and the masks are guarded by the
    // process's signal_lock().
    SignalQueue& pending_locked() { return m_pending; }
    // A signal for this thread was queued: wake it from a block, or stop
    // it in guest code so that it is delivered.
    void signal_wake();
    // Whether a signal would interrupt a blocking call (the process's or
    // this thread's, not blocked).
    bool has_deliverable_locked();
    // Blocks until `done()`, a deliverable signal, or the deadline (then
    // false). Signals the caller blocks do not end the wait; `done` is
    // checked under the process's signal_lock(), and whoever makes it true
    // calls wake_from_wait().
    template <class Done>
    bool wait_until(std::optional<std::chrono::steady_clock::time_point> deadline, Done done)
    {
        std::unique_lock lock(m_process->signal_lock());
        auto ready = [&] { return done() || has_deliverable_locked(); };
        if (ready())
            return true;
        m_context->blocking();
        if (!deadline) {
            m_signal_cv.wait(lock, ready);
            return true;
        }
        return m_signal_cv.wait_until(lock, *deadline, ready);
    }
    bool wait_for_signal(std::optional<std::chrono::steady_clock::time_point> deadline)
    {
        return wait_until(deadline, [] { return false; });
    }
    void wake_from_wait();
    // Parks the thread while its process is stopped (job control).
    void wait_while_stopped();
    // wake_from_wait() with the process's signal_lock() held.
    void wake_from_wait_locked() { m_signal_cv.notify_all(); }
    // This thread alone ends (exit(2) with other threads left).
    void exit_thread(int code);
    // exit_group(2): the whole process goes, by this thread's hand.
    void end_group(int wait_status);
    // execve in another thread: this one ends at once, without running
    // signal handlers (Linux's de_thread).
    void kill_for_exec();
    // Linux's mm_release, when the thread leaves its address space (exit,
    // execve): futexes it held in its robust list get FUTEX_OWNER_DIED and
    // a waiter woken; clear_child_tid is zeroed and woken (pthread_join).
    void mm_release();
    int exit_code() const { return m_exit_code; }
    // rt_sigsuspend: the mask in force until a handler has been set up.
    std::optional<u64> saved_mask;
    // rt_sigsuspend, ppoll, pselect6: `mask` until a handler has run (or
    // the call returns); the old one is saved_mask.
    void set_temporary_mask(u64 mask);

    // ptrace, tracee side. The link is set by the tracer (attach) or at
    // clone (auto-attach) and read under the process's signal_lock().
    std::shared_ptr<PtraceLink> ptrace_link();
    void set_ptrace_link(std::shared_ptr<PtraceLink>);
    const std::shared_ptr<PtraceLink>& ptrace_link_locked() const { return m_ptrace; }
    void set_ptrace_link_locked(std::shared_ptr<PtraceLink> link)
    {
        m_ptrace = std::move(link);
        m_traced = m_ptrace != nullptr;
    }
    // The thread is about to end: no tracer request may start, and those
    // running finish first.
    void ptrace_quiesce();
    bool traced() const { return m_traced.load(); }
    // Stops for the tracer with wait status `status` until it resumes the
    // thread; the signal the tracer passed (0: none). Not traced: -1.
    // At exit (PTRACE_EVENT_EXIT) it stops though it is exiting, until the
    // tracer resumes it or a SIGKILL comes.
    int ptrace_stop(int status, std::optional<abi::Siginfo> info = std::nullopt, int syscall_op = 0,
                    std::optional<u64> event_msg = std::nullopt, bool at_exit = false);
    // PTRACE_EVENT_* stop, when the tracer asked for it (`option`);
    // `at_exit` as ptrace_stop's.
    void ptrace_event(u32 option, int event, u64 msg, bool at_exit = false);
    // The tracer's last resume asked for syscall stops / single steps.
    PtraceResume ptrace_resume_mode();
    // The thread ends: its tracer learns the status.
    void ptrace_exit(int wait_status);

    // vfork: this thread runs on its parent thread's context (host
    // thread) until it execs or exits.
    bool borrowed_context { false };
    // A vfork child runs on this thread's context now (it sleeps in vfork).
    std::atomic<bool> context_lent { false };
    std::atomic<int> sched_policy { 0 }; // SCHED_OTHER, BATCH or IDLE
    std::atomic<bool> sched_reset_on_fork { false };
    // set_mempolicy(2): the mode with its flags, and the nodes (a machine
    // of one node: node 0). Inherited by clone and fork.
    struct MemPolicy {
        int mode { 0 }; // MPOL_DEFAULT
        u64 nodes { 0 };
    } mempolicy;
    // seccomp(2): the mode and the filters (shared with the threads and
    // children that inherited them); no_new_privs.
    static constexpr int kSeccompStrict = 1, kSeccompFilter = 2;
    int seccomp_mode { 0 };
    std::shared_ptr<const seccomp::Filter> seccomp_filter;
    bool no_new_privs { false };
    u64 clear_child_tid { 0 };
    u64 robust_list { 0 };
    u64 robust_list_len { 0 };
    u64 signal_mask { 0 };
    abi::Stack sigaltstack { 0, 2 /* SS_DISABLE */, 0, 0 };

private:
    TaskName m_comm; // while not the leader
    void release_robust_futexes(); // mm_release's first half
    void handle_syscall();
    void handle_fault(const platform::FaultInfo&);
    // Linux's force_sig_info: delivered even when blocked or ignored.
    void force_signal(const abi::Siginfo&);
    // The filters' answer for this syscall: nothing to run it, or the
    // value it returns without running.
    // The guest's seccomp filters on this call: nullopt to run it, else its
    // result. A tracer (SECCOMP_RET_TRACE) may change `nr` and `args`.
    std::optional<i64> seccomp_verdict(u64& nr, u64 (&args)[6], bool recheck = false);
    // Before returning to guest code: handlers, default actions, restarts.
    void deliver_signals();
    // The default action of a fatal signal: the whole process ends with
    // `wait_status` (the signal, maybe with the core bit).
    void die(int wait_status);

    RefPtr<Process> m_process;
    std::atomic<int> m_tid;
    platform::Context* m_context { nullptr };
    platform::Registers m_regs;
    // It ended itself (exit, exit_group, its own fatal signal): it stops
    // for PTRACE_EVENT_EXIT, where threads the group's end took do not.
    bool m_ends_itself { false };
    std::atomic<bool> m_exiting { false };
    int m_exit_code { 0 };
    SignalQueue m_pending;
    std::atomic<bool> m_in_guest { false };
    std::shared_ptr<PtraceLink> m_ptrace; // under the process's signal_lock()
    std::atomic<bool> m_traced { false };
    bool m_step_flag_set { false }; // we set EFLAGS.TF for PTRACE_SINGLESTEP
    // The CPU clock of the task thread running it, and its reading when
    // this task began there (task threads are reused: Kernel::start_task).
    std::atomic<clockid_t> m_task_clock { -1 };
    u64 m_task_clock_base { 0 };
    std::condition_variable m_signal_cv;
    i64 m_restart { 0 };                       // an ERESTART* the last syscall returned
    std::optional<platform::FaultInfo> m_fault; // the fault behind a pending synchronous signal
    DebugRegisters m_debug_registers;
};

// Linux's __ptrace_may_access, as umk models it (root has every
// capability): root, or the caller's real ids (`fscreds`: its fs ids)
// equal to all of the target's, and the target dumpable. For ptrace,
// process_vm_*, pidfd_getfd, /proc/PID/mem and maps.
bool ptrace_may_access(Process& caller, Process& target, bool fscreds);

// The guest thread the calling task thread runs (Linux's `current`), or
// null outside task threads.
Thread* current_thread();

// The kernel's view of guest memory for one thread, with typed helpers.
template <class T>
KResult<T> copy_in(Thread& t, u64 addr)
{
    T value {};
    TRY(t.mm().copy_in(addr, std::span(reinterpret_cast<u8*>(&value), sizeof(T))));
    return value;
}

template <class T>
KResult<void> copy_out(Thread& t, u64 addr, const T& value)
{
    return t.mm().copy_out(addr, std::span(reinterpret_cast<const u8*>(&value), sizeof(T)));
}

} // namespace umk::kernel
