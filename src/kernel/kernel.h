#pragma once

// One guest machine: its platform, mount tree, pids, options. Lives in the
// umk kernel process for as long as the guest runs.

#include "kernel/ipc/futex.h"
#include "kernel/task/task.h"
#include "kernel/time/timer_service.h"
#include "platform/context.h"

#include <cstdio>
#include <map>
#include <set>

namespace umk::kernel {

struct KernelOptions {
    std::string hostname { "umk" };
    std::string kernel_release;
    std::string kernel_version;
    u32 uid { 0 }, gid { 0 };
    std::string cwd { "/" }; // of the first process
    int strace_fd { -1 }; // host fd for --strace output, -1 when off
    bool syscall_patching { true }; // off with --strace and --no-syscall-patching
    int pids_max { 4096 }; // guest tasks at once (--pids-max)
    int threads_max { 1024 }; // threads of one process (--threads-max; the stub has 1024 slots)
    // RLIMIT_NOFILE as umk was started with: the first guest process's
    // (the kernel process raises its own). {0, 0}: the kernel's.
    u64 nofile_cur { 0 }, nofile_max { 0 };
};

// One mount of the guest's tree, for /proc/PID/mounts and mountinfo.
struct MountRecord {
    std::string path;    // the mount point in the guest
    std::string fstype;  // "overlay", "proc", ...
    std::string source;
    // The file system's own options after the mount's flags (the root's
    // mount_flags()): "" or ",size=64k,nr_inodes=16", ...
    std::string fs_options;
    RefPtr<Dentry> root; // its root (st_dev for major:minor)
    std::string options() const { return mount_options_text(root->mount_flags()) + fs_options; }
    std::string fs_root { "/" }; // the directory of its file system mounted here (a bind's source)
};

class Kernel {
public:
    Kernel(KernelOptions options, std::unique_ptr<platform::Platform> platform, RefPtr<Dentry> root);
    ~Kernel();

    const KernelOptions& options() const { return m_options; }
    platform::Platform& platform() { return *m_platform; }
    RefPtr<Dentry> root()
    {
        std::lock_guard lock(m_lock);
        return m_root;
    }
    // pivot_root: the mount namespace's new root; every process whose
    // root or cwd was the old one moves to it. Returns the old root.
    RefPtr<Dentry> pivot_root(RefPtr<Dentry> new_root);
    // After mounts moved (pivot_root, MS_MOVE): where each one is now.
    void recompute_mount_paths();
    Timespec boot_time() const { return m_boot_time; }
    std::chrono::steady_clock::time_point boot_steady() const { return m_boot_steady; }

    // Starts pid 1 with `argv` (argv[0] is resolved as the program) and
    // runs until it exits; returns its wait status. Host stdio becomes
    // the guest's fds 0, 1, 2.
    KResult<int> run_init(const std::vector<std::string>& argv, const std::vector<std::string>& envp);
    // The user asked umk to stop: the guest's init is killed, and with it,
    // as when a pid namespace's init ends, every other process.
    void terminate();

    // A one-time log line per key (unimplemented syscalls, flags, ioctls).
    void log_once(const std::string& key, const std::string& message);
    void strace(const std::string& line);

    RefPtr<Process> find_process(int pid);
    // The process with a thread `tid`.
    RefPtr<Process> find_thread_group(int tid);
    std::vector<RefPtr<Process>> processes();
    // Another process with threads uses `mm` (CLONE_VM without CLONE_VFORK;
    // a vfork child only borrows it).
    bool mm_used_elsewhere(const Process& self, const MemoryManager& mm);
    TimerService& timers() { return m_timers; }
    FutexTable& futexes() { return m_futexes; }
    // A new guest pid or tid (pid 1 is the first process's).
    int allocate_pid() { return m_next_pid++; }
    std::vector<int> pids();
    // The UTS names (sethostname, setdomainname; uname shows them).
    std::string hostname();
    std::string domainname();
    void set_hostname(std::string);
    void set_domainname(std::string);

    // The last pid handed out.
    int last_pid() const { return m_next_pid - 1; }

    void add_mount(MountRecord);
    // Some mount's mount point is `name` in directory `dir`, file `victim`
    // (whichever tree of a bind mount names them).
    bool is_mountpoint(Inode& dir, std::string_view name, Inode& victim);
    // Some mount's mount point is below directory `dir` in a dentry tree
    // other than `tree`'s (another tree of a bind).
    bool mounted_below_elsewhere(Inode& dir, const Dentry& tree);
    // Where every mount is mounted (the guest's root has no mount point).
    std::vector<RefPtr<Dentry>> mount_points();
    void remove_mounts(const std::vector<const Dentry*>& roots);
    // remount,ro / remount,rw: what /proc/PID/mounts shows.
    std::vector<MountRecord> mounts();
    // A file system mount(2) made: kept until the kernel ends (its inodes
    // refer to it, and open files may outlive the mount).
    template <class Fs>
    Fs& keep_file_system(std::unique_ptr<Fs> fs)
    {
        std::lock_guard lock(m_lock);
        Fs& ref = *fs;
        m_owned_file_systems.push_back(std::shared_ptr<void>(std::move(fs)));
        return ref;
    }

    // The process tree (parents, children, zombies, process groups and
    // sessions; Linux's tasklist_lock). Taken before any Process lock.
    std::mutex& tree_lock() { return m_tree_lock; }
    // A new process: `parent`'s child, in the process table. Refused once
    // pid 1 has ended (ENOMEM, as Linux's alloc_pid in a dead pid
    // namespace) or while `forking` is being killed (ERESTARTNOINTR, as
    // copy_process with a fatal signal pending): nothing may outlive
    // the kill that ends them.
    KResult<void> add_process(RefPtr<Process> child, Process& parent, Process& forking);
    // Its last thread is gone: its children go to the reaper, it becomes
    // a zombie and its parent learns of it (exit_signal, wait(2)), or it
    // is reaped at once when the parent ignores SIGCHLD.
    void process_exited(Process&);
    // Linux's will_become_orphaned_pgrp: no living member has a parent in
    // another group of the same session. Under tree_lock().
    bool pgrp_orphaned_locked(int pgid);
    // wait(2) took the zombie `child` of `parent`. Under tree_lock().
    void reap_locked(Process& parent, Process& child);
    // Runs `thread` on a task thread of its own until it exits; the kernel
    // does not end before every task has. A task thread whose task ended
    // waits a while for the next one (docs/design.md, "Task threads").
    void start_task(Thread* thread);
    // fork/clone's limits: --pids-max for the guest, RLIMIT_NPROC for
    // the caller's real uid (not for root, which has CAP_SYS_RESOURCE).
    KResult<void> check_task_limits(Thread& creator);

private:
    KernelOptions m_options;
    std::unique_ptr<platform::Platform> m_platform;
    RefPtr<Dentry> m_root;
    Timespec m_boot_time;
    std::chrono::steady_clock::time_point m_boot_steady { std::chrono::steady_clock::now() };
    std::mutex m_lock;
    std::set<std::string> m_logged;
    std::vector<MountRecord> m_mounts; // under m_lock
    std::optional<std::string> m_hostname; // under m_lock; unset: the options'
    std::string m_domainname { "(none)" }; // under m_lock
    std::vector<std::shared_ptr<void>> m_owned_file_systems; // under m_lock
    std::map<int, RefPtr<Process>> m_processes;
    std::mutex m_tree_lock;
    bool m_ending { false }; // pid 1 has ended; under m_tree_lock
    std::mutex m_tasks_lock;
    std::condition_variable m_tasks_done;
    int m_live_tasks { 0 };
    // Shared with the task threads, which may outlive the kernel idle.
    std::shared_ptr<struct IdleTaskThreads> m_idle_task_threads;
    std::atomic<int> m_next_pid { 2 };
    FutexTable m_futexes;
    TimerService m_timers; // last: its thread stops before the rest goes
};

} // namespace umk::kernel
