#include "kernel/kernel.h"

#include "host/files.h"
#include "kernel/exec/exec.h"
#include "kernel/task/poll_hub.h"
#include "kernel/tty/console.h"
#include "kernel/tty/pty.h"
#include "kernel/vfs/path.h"

#include <fmt/format.h>
#include <unordered_set>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

namespace umk::kernel {

// Task threads that wait for their next task, the latest last.
struct IdleTaskThreads {
    struct Waiter {
        std::condition_variable cv;
        Thread* task { nullptr };
    };
    // A fork-heavy guest reuses a few; these many are plenty on any host.
    static constexpr usize kMax = 16;
    static constexpr auto kLinger = std::chrono::seconds(5);
    std::mutex lock;
    std::vector<Waiter*> waiting;
    bool stopping { false };

    // A waiting thread for `task`, if there is one.
    bool hand_over(Thread* task)
    {
        std::lock_guard guard(lock);
        if (waiting.empty())
            return false;
        Waiter* w = waiting.back();
        waiting.pop_back();
        w->task = task;
        w->cv.notify_one();
        return true;
    }

    // The next task for this thread, or none: it ends.
    Thread* next_task()
    {
        std::unique_lock guard(lock);
        if (stopping || waiting.size() >= kMax)
            return nullptr;
        Waiter me;
        waiting.push_back(&me);
        me.cv.wait_for(guard, kLinger, [&] { return me.task || stopping; });
        if (!me.task)
            std::erase(waiting, &me);
        return me.task;
    }
};

Kernel::Kernel(KernelOptions options, std::unique_ptr<platform::Platform> platform, RefPtr<Dentry> root)
    : m_options(std::move(options))
    , m_platform(std::move(platform))
    , m_root(std::move(root))
    , m_idle_task_threads(std::make_shared<IdleTaskThreads>())
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m_boot_time = { ts.tv_sec, ts.tv_nsec };
}

Kernel::~Kernel()
{
    std::lock_guard guard(m_idle_task_threads->lock);
    m_idle_task_threads->stopping = true;
    for (auto* w : m_idle_task_threads->waiting)
        w->cv.notify_one();
}

void Kernel::log_once(const std::string& key, const std::string& message)
{
    {
        std::lock_guard lock(m_lock);
        if (!m_logged.insert(key).second)
            return;
    }
    std::string line = fmt::format("umk: {}\n", message);
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

void Kernel::terminate()
{
    for (auto& p : processes())
        if (p->pid() == 1)
            p->kill_all(kSigKill);
}

void Kernel::strace(const std::string& line)
{
    std::string out = line + "\n";
    [[maybe_unused]] auto n = ::write(m_options.strace_fd, out.data(), out.size());
}

RefPtr<Process> Kernel::find_process(int pid)
{
    std::lock_guard lock(m_lock);
    auto it = m_processes.find(pid);
    return it == m_processes.end() ? nullptr : it->second;
}

RefPtr<Process> Kernel::find_thread_group(int tid)
{
    for (auto& p : processes()) {
        std::lock_guard lock(p->signal_lock());
        if (p->find_thread_locked(tid))
            return p;
    }
    return nullptr;
}

std::vector<RefPtr<Process>> Kernel::processes()
{
    std::lock_guard lock(m_lock);
    std::vector<RefPtr<Process>> out;
    for (auto& [pid, p] : m_processes)
        out.push_back(p);
    return out;
}

KResult<void> Kernel::add_process(RefPtr<Process> child, Process& requested_parent, Process& forking)
{
    std::lock_guard tree(m_tree_lock);
    if (m_ending)
        return err(Errno::NOMEM);
    if (forking.dying())
        return err(Errno::RESTARTNOINTR);
    // A parent that ended meanwhile (CLONE_PARENT's grandparent) has
    // given its children to pid 1: so does this one.
    Process* parent = &requested_parent;
    if (parent->zombie_locked()) {
        std::lock_guard lock(m_lock);
        auto init = m_processes.find(1);
        if (init != m_processes.end())
            parent = init->second.get();
    }
    Process& new_parent = *parent;
    child->set_parent_locked(&new_parent);
    child->set_pgid_locked(requested_parent.pgid_locked());
    child->set_sid_locked(requested_parent.sid_locked());
    child->ctty = requested_parent.ctty;
    child->console_ctty = requested_parent.console_ctty.load();
    new_parent.children_locked().push_back(child);
    std::lock_guard lock(m_lock);
    m_processes.emplace(child->pid(), child);
    return {};
}

void Kernel::process_exited(Process& p)
{
    RefPtr<Process> keep(&p);
    p.set_exe(nullptr, {}); // Linux's exit_mm: the file may be written again
    RefPtr<Process> parent;
    RefPtr<Process> reaper;
    bool reaper_gets_zombie = false;
    std::vector<RefPtr<Process>> orphans;
    std::vector<int> hangup_groups;
    std::vector<std::shared_ptr<PtraceLink>> detached;
    std::vector<RefPtr<Process>> hangup_targets;
    std::vector<RefPtr<Process>> terminal_hangups;
    {
        std::lock_guard tree(m_tree_lock);
        // Linux's find_new_reaper: the nearest living subreaper ancestor,
        // else pid 1. When pid 1 itself ends, everything ends (run_init).
        if (p.pid() != 1) {
            for (Process* a = p.parent_locked(); a; a = a->parent_locked()) {
                if (a->child_subreaper && !a->zombie_locked() && !a->dying()) {
                    reaper = RefPtr<Process>(a);
                    break;
                }
            }
            if (!reaper)
                reaper = find_process(1);
        }
        for (auto& child : p.children_locked()) {
            if (!reaper)
                break;
            child->set_parent_locked(reaper.get());
            child->set_creator_tid(reaper->pid());
            orphans.push_back(child);
            reaper_gets_zombie |= child->zombie_locked();
            reaper->children_locked().push_back(child);
        }
        p.children_locked().clear();
        p.set_zombie_locked();
        // ptrace: a tracer that goes detaches its tracees (PTRACE_O_EXITKILL
        // kills them); tracees stopped for it go on.
        for (auto& link : p.tracees) {
            link->tracer = nullptr;
            detached.push_back(link);
        }
        p.tracees.clear();
        // Linux's kill_orphaned_pgrp: a group this exit orphans that has
        // stopped members gets SIGHUP and SIGCONT (POSIX: nobody is left
        // to continue them).
        auto orphaned_with_stopped = [&](int pgid) {
            if (!pgrp_orphaned_locked(pgid))
                return false;
            for (auto& q : processes()) {
                if (q->pgid_locked() != pgid || q->zombie_locked())
                    continue;
                std::lock_guard lock(q->signal_lock());
                if (q->stopped_locked())
                    return true;
            }
            return false;
        };
        Process* old_parent = p.parent_locked();
        if (old_parent && old_parent->pgid_locked() != p.pgid_locked() && old_parent->sid_locked() == p.sid_locked()
            && orphaned_with_stopped(p.pgid_locked()))
            hangup_groups.push_back(p.pgid_locked());
        for (auto& orphan : orphans) {
            int g = orphan->pgid_locked();
            if (g != p.pgid_locked() && orphan->sid_locked() == p.sid_locked()
                && std::find(hangup_groups.begin(), hangup_groups.end(), g) == hangup_groups.end()
                && orphaned_with_stopped(g))
                hangup_groups.push_back(g);
        }
        for (int g : hangup_groups)
            for (auto& q : processes())
                if (q->pgid_locked() == g && !q->zombie_locked())
                    hangup_targets.push_back(q);
        // A session leader's exit: its terminal's foreground group gets
        // SIGHUP (only: disassociate_ctty(1)), and the session loses the
        // terminal.
        if (p.sid_locked() == p.pid() && p.ctty)
            terminal_hangups = RefPtr<PtyPair>(p.ctty)->disassociate_locked(*this);
        parent = RefPtr<Process>(p.parent_locked());
        if (parent) {
            auto action = parent->sigaction(kSigChld);
            bool ignored = action.handler == reinterpret_cast<u64>(SIG_IGN) || (action.flags & SA_NOCLDWAIT);
            if (ignored && p.exit_signal() == kSigChld)
                reap_locked(*parent, p); // Linux: the parent asked for no zombies
        }
    }
    if (reaper && reaper_gets_zombie)
        reaper->notify_child_event();
    PollHub::the().notify(); // pidfds of this process poll readable
    for (auto& orphan : orphans)
        orphan->send_parent_death_signal(p);
    for (auto& link : detached) {
        if (link->options & kPtraceExitKill)
            link->tracee->kill_all(kSigKill);
        std::lock_guard lock(link->tracee->signal_lock());
        link->stopped = false;
        link->resume = PtraceResume::Cont;
        link->resume_signal = 0;
        if (link->thread)
            link->thread->wake_from_wait_locked();
    }
    for (auto& q : hangup_targets) {
        q->send_signal(make_siginfo(kSigHup, kSiKernel));
        q->send_signal(make_siginfo(kSigCont, kSiKernel));
    }
    for (auto& q : terminal_hangups)
        q->send_signal(make_siginfo(kSigHup, kSiKernel));
    if (!parent)
        return;
    if (int signo = p.exit_signal()) {
        int status = p.exit_status().value_or(0);
        abi::Siginfo info = make_siginfo(signo, 0, p.pid(), p.creds().uid);
        bool exited = (status & 0x7f) == 0;
        info.si_code = exited ? kCldExited : (status & 0x80) ? kCldDumped : kCldKilled;
        info.chld.status = exited ? (status >> 8) & 0xff : status & 0x7f;
        auto usage = p.cpu_usage();
        info.chld.utime = static_cast<i64>(usage.user_ns / 10000000);
        info.chld.stime = static_cast<i64>(usage.system_ns / 10000000);
        parent->send_signal(info);
    }
    parent->notify_child_event();
}

bool Kernel::pgrp_orphaned_locked(int pgid)
{
    for (auto& p : processes()) {
        if (p->pgid_locked() != pgid || p->zombie_locked())
            continue;
        Process* parent = p->parent_locked();
        if (parent && parent->pgid_locked() != pgid && parent->sid_locked() == p->sid_locked())
            return false;
    }
    return true;
}

void Kernel::reap_locked(Process& parent, Process& child)
{
    auto usage = child.cpu_usage();
    usage += child.children_usage();
    parent.add_children_usage(usage);
    std::erase_if(parent.children_locked(), [&](const RefPtr<Process>& c) { return c.get() == &child; });
    child.set_parent_locked(nullptr);
    std::lock_guard lock(m_lock);
    m_processes.erase(child.pid());
}

KResult<void> Kernel::check_task_limits(Thread& creator)
{
    {
        std::lock_guard lock(m_tasks_lock);
        if (m_live_tasks >= m_options.pids_max) {
            log_once("pids-max", fmt::format("fork/clone: the guest has --pids-max={} tasks: EAGAIN", m_options.pids_max));
            return err(Errno::AGAIN);
        }
    }
    auto creds = creator.process().creds();
    if (creds.has(kCapSysResource) || creds.has(kCapSysAdmin))
        return {};
    u64 limit = creator.process().rlimit(RLIMIT_NPROC).cur;
    u64 count = 0;
    for (auto& p : processes())
        if (p->creds().uid == creds.uid)
            count += p->thread_count();
    if (count >= limit)
        return err(Errno::AGAIN);
    return {};
}

void Kernel::start_task(Thread* thread)
{
    // Visible (to kill, wait, /proc, sched_getaffinity) from now on, not
    // only once its task thread runs.
    thread->process().add_thread(*thread);
    {
        std::lock_guard lock(m_tasks_lock);
        m_live_tasks++;
    }
    // A new process's first thread goes to an idle task thread, if any
    // (docs/design.md, "Task threads"); a new thread of a process, to a
    // task thread of its own.
    auto first_of_process = [](Thread* t) { return t->tid() == t->process().pid(); };
    if (first_of_process(thread) && m_idle_task_threads->hand_over(thread))
        return;
    std::thread([this, idle = m_idle_task_threads, thread, first_of_process] {
        for (Thread* task = thread; task;) {
            bool pooled = first_of_process(task);
            task->run();
            delete task;
            platform::task_thread_done();
            {
                std::lock_guard lock(m_tasks_lock);
                if (--m_live_tasks == 0)
                    m_tasks_done.notify_all();
            }
            task = pooled ? idle->next_task() : nullptr;
        }
    }).detach();
}

bool Kernel::mm_used_elsewhere(const Process& self, const MemoryManager& mm)
{
    for (auto& p : processes())
        if (p.get() != &self && !p->mm_borrowed && p->thread_count() > 0 && p->mm_ref().get() == &mm)
            return true;
    return false;
}

void Kernel::add_mount(MountRecord record)
{
    std::lock_guard lock(m_lock);
    m_mounts.push_back(std::move(record));
}

std::string Kernel::hostname()
{
    std::lock_guard lock(m_lock);
    return m_hostname.value_or(m_options.hostname);
}

std::string Kernel::domainname()
{
    std::lock_guard lock(m_lock);
    return m_domainname;
}

void Kernel::set_hostname(std::string name)
{
    std::lock_guard lock(m_lock);
    m_hostname = std::move(name);
}

void Kernel::set_domainname(std::string name)
{
    std::lock_guard lock(m_lock);
    m_domainname = std::move(name);
}

RefPtr<Dentry> Kernel::pivot_root(RefPtr<Dentry> new_root)
{
    RefPtr<Dentry> old;
    {
        std::lock_guard lock(m_lock);
        old = std::exchange(m_root, new_root);
    }
    for (auto& p : processes()) {
        std::lock_guard lock(p->lock());
        auto& fs = p->fs_locked();
        if (fs.root == old)
            fs.root = new_root;
        if (fs.cwd == old)
            fs.cwd = new_root;
    }
    recompute_mount_paths();
    return old;
}

void Kernel::recompute_mount_paths()
{
    std::lock_guard lock(m_lock);
    for (auto& m : m_mounts) {
        if (m.root == m_root)
            m.path = "/";
        else if (auto* at = m.root->mountpoint())
            m.path = at->path();
    }
}

std::vector<RefPtr<Dentry>> Kernel::mount_points()
{
    std::lock_guard lock(m_lock);
    std::vector<RefPtr<Dentry>> points;
    for (auto& m : m_mounts)
        if (Dentry* at = m.root->mountpoint())
            points.push_back(RefPtr<Dentry>(at));
    return points;
}

bool Kernel::is_mountpoint(Inode& dir, std::string_view name, Inode& victim)
{
    for (auto& at : mount_points())
        if (at->name() == name && at->parent() && same_file(at->parent()->inode(), dir) && same_file(at->inode(), victim))
            return true;
    return false;
}

bool Kernel::mounted_below_elsewhere(Inode& dir, const Dentry& tree)
{
    for (auto& at : mount_points()) {
        // Up to the mount's root, which keeps its mounts whatever the
        // directory it shows is called.
        for (RefPtr<Dentry> d = at->parent(); d && d->parent(); d = d->parent()) {
            if (d.get() == &tree)
                break; // in the tree being renamed: it moves along
            if (d->inode().fs_id() == dir.fs_id() && same_file(d->inode(), dir))
                return true;
        }
    }
    return false;
}

void Kernel::remove_mounts(const std::vector<const Dentry*>& roots)
{
    std::unordered_set<const Dentry*> gone(roots.begin(), roots.end());
    std::lock_guard lock(m_lock);
    std::erase_if(m_mounts, [&](const MountRecord& m) { return gone.contains(m.root.get()); });
}

std::vector<MountRecord> Kernel::mounts()
{
    std::lock_guard lock(m_lock);
    return m_mounts;
}

std::vector<int> Kernel::pids()
{
    std::lock_guard lock(m_lock);
    std::vector<int> out;
    for (auto& [pid, p] : m_processes)
        out.push_back(pid);
    return out;
}

namespace {

// execvp's search: argv[0] without a slash is looked up in PATH.
std::string find_program(const PathContext& ctx, const std::string& name, const std::vector<std::string>& envp)
{
    if (name.find('/') != std::string::npos)
        return name;
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (auto& e : envp)
        if (e.starts_with("PATH="))
            path = e.substr(5);
    usize start = 0;
    while (start <= path.size()) {
        usize end = path.find(':', start);
        if (end == std::string::npos)
            end = path.size();
        std::string dir = path.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (auto d = resolve_path(ctx, candidate, Follow::Yes)) {
            auto a = (*d)->inode().attr();
            if (a && S_ISREG(a->mode) && check_access(*a, ctx.creds, kMayExec))
                return candidate;
        }
        start = end + 1;
    }
    return name;
}

} // namespace

KResult<int> Kernel::run_init(const std::vector<std::string>& argv, const std::vector<std::string>& envp)
{
    auto process = Process::make_init(*this);
    process->set_creds(Credentials::for_user(m_options.uid, m_options.gid));
    process->console_ctty = true;
    {
        PathContext ctx { m_root, m_root, process->creds() };
        auto cwd = resolve_path(ctx, m_options.cwd, Follow::Yes);
        std::lock_guard lock(process->lock());
        process->fs_locked().root = m_root;
        process->fs_locked().cwd = cwd && (*cwd)->inode().is_dir() ? *cwd : m_root;
        process->fs_locked().umask = 022;
    }
    for (int fd = 0; fd < 3; fd++) {
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
            continue; // umk's own fd is closed: so is the guest's
        auto inode = make_ref<ConsoleInode>(host::Fd(copy));
        int flags = fcntl(fd, F_GETFL);
        auto file = TRY(inode->open(flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)));
        TRY(process->fds().install(fd, file, false, 3));
    }
    {
        std::lock_guard lock(m_lock);
        m_processes.emplace(1, process);
    }

    // No context yet: execve gives the thread its address space.
    Thread thread(process, 1);
    auto creds = process->creds();
    PathContext ctx { m_root, m_root, creds };
    auto program = find_program(ctx, argv.at(0), envp);
    PathContext from_cwd { m_root, process->fs().cwd, creds };
    TRY(do_execve(thread, ExecFile { TRY(resolve_path(from_cwd, program, Follow::Yes)), program }, argv, envp));

    process->add_thread(thread);
    std::thread task([&] { thread.run(); });
    task.join();
    process->wait_threads_gone();
    // As when a pid namespace's init ends: every other process is killed,
    // and no new one is made (a fork under way would escape the kill).
    {
        std::lock_guard tree(m_tree_lock);
        m_ending = true;
    }
    for (auto& p : processes())
        p->kill_all(kSigKill);
    {
        std::unique_lock lock(m_tasks_lock);
        m_tasks_done.wait(lock, [&] { return m_live_tasks == 0; });
    }
    {
        std::lock_guard lock(process->lock());
        process->timers.cancel_all(*this, false);
    }
    int status = process->exit_status().value_or(0);
    {
        std::lock_guard lock(m_lock);
        m_processes.clear();
    }
    return status;
}

} // namespace umk::kernel
