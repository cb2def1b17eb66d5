#pragma once

// Processes (thread groups) and threads. Linux: kernel/fork.c, exit.c.
//
// Lock order: Process::m_lock, then FdTable / MemoryManager locks.

#include "kernel/abi/linux.h"
#include "kernel/mm/memory_manager.h"
#include "kernel/task/credentials.h"
#include "kernel/task/fd_table.h"
#include "kernel/vfs/dentry.h"
#include "platform/context.h"

#include <array>
#include <atomic>

namespace umk::kernel {

class Kernel;

inline constexpr int kRlimitCount = 16;
inline constexpr int kSignalCount = 64;

// Filesystem context: root, cwd, umask (Linux's struct fs_struct).
struct FsContext {
    RefPtr<Dentry> root;
    RefPtr<Dentry> cwd;
    u32 umask { 022 };
};

class Process : public RefCounted {
public:
    Process(Kernel& kernel, int pid, int ppid);

    Kernel& kernel() { return m_kernel; }
    int pid() const { return m_pid; }
    int ppid() const { return m_ppid; }
    int pgid() const { return m_pgid; }
    int sid() const { return m_sid; }

    MemoryManager& mm() { return *m_mm; }
    RefPtr<MemoryManager> mm_ref() { return m_mm; }
    void set_mm(RefPtr<MemoryManager> mm) { m_mm = std::move(mm); }
    FdTable& fds() { return *m_fds; }

    std::mutex& lock() { return m_lock; }
    FsContext& fs_locked() { return m_fs; }
    FsContext fs();
    Credentials creds();
    void set_creds(const Credentials& c);

    abi::Rlimit rlimit(int resource);
    void set_rlimit(int resource, abi::Rlimit);

    abi::Sigaction sigaction(int signo);
    void set_sigaction(int signo, const abi::Sigaction&);
    void reset_sigactions_for_exec();

    RefPtr<Dentry> exe() { return m_exe; }
    void set_exe(RefPtr<Dentry> exe) { m_exe = std::move(exe); }
    // Where argv and envp strings live in guest memory (for /proc).
    u64 arg_start { 0 }, arg_end { 0 }, env_start { 0 }, env_end { 0 };
    std::string comm;

    // exit_group: the process's exit status, as wait(2) encodes it.
    void set_exit_status(int wait_status);
    std::optional<int> exit_status() const;

private:
    Kernel& m_kernel;
    int m_pid, m_ppid, m_pgid, m_sid;
    std::mutex m_lock;
    RefPtr<MemoryManager> m_mm;
    RefPtr<FdTable> m_fds;
    FsContext m_fs;
    Credentials m_creds;
    std::array<abi::Rlimit, kRlimitCount> m_rlimits {};
    std::array<abi::Sigaction, kSignalCount> m_sigactions {};
    RefPtr<Dentry> m_exe;
    std::atomic<int> m_exit_status { -1 };
};

class Thread {
public:
    Thread(RefPtr<Process> process, int tid, platform::Context& context);

    Process& process() { return *m_process; }
    Kernel& kernel() { return m_process->kernel(); }
    int tid() const { return m_tid; }
    platform::Registers& regs() { return m_regs; }
    platform::Context& context() { return *m_context; }
    void set_context(platform::Context& c) { m_context = &c; }
    MemoryManager& mm() { return m_process->mm(); }
    FdTable& fds() { return m_process->fds(); }

    // Runs the guest thread until it exits; returns when it has.
    void run();
    void request_exit() { m_exiting = true; }
    bool exiting() const { return m_exiting; }

    u64 clear_child_tid { 0 };
    u64 robust_list { 0 };
    u64 robust_list_len { 0 };
    u64 signal_mask { 0 };
    abi::Stack sigaltstack { 0, 2 /* SS_DISABLE */, 0, 0 };

private:
    void handle_syscall();
    void handle_fault(const platform::FaultInfo&);

    RefPtr<Process> m_process;
    int m_tid;
    platform::Context* m_context;
    platform::Registers m_regs;
    bool m_exiting { false };
};

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
