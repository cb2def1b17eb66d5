#pragma once

// The seccomp-trap platform: each guest address space is a umk-stub host
// process; guest syscalls trap (SIGSYS) into the stub, which hands the
// registers to the kernel through a shared slot (seccomp_trap/layout.h).
//
// Lock order: SeccompTrapPlatform::m_stubs_lock, then a
//             StubProcess::m_threads_lock (the monitor's mark_dead).
//             StubProcess::m_op_lock, then nothing.

#include "host/fd.h"
#include "platform/context.h"
#include "platform/seccomp_trap/host_load.h"
#include "platform/seccomp_trap/layout.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

namespace umk::platform {

class StubProcess;

class SeccompTrapPlatform final : public Platform {
public:
    static KResult<std::unique_ptr<SeccompTrapPlatform>> create();
    ~SeccompTrapPlatform() override;

    KResult<std::unique_ptr<AddressSpace>> create_address_space() override;

    // What a new stub needs from the kernel: its control region (mapped
    // here, with the main thread's slot RUNNING) and control socket.
    struct NewStub {
        host::Fd memfd;
        void* region { nullptr };
        host::Fd kernel_end, stub_end;
    };
    KResult<NewStub> prepare_stub();

    // For StubProcess: the monitor marks a stub's slots dead when its host
    // process exits.
    void watch(StubProcess&);
    // For ~StubProcess, after it killed the host process: the monitor
    // reaps it and unmaps its control region, off the path of whoever
    // dropped the last reference (a guest parent's wait4: 90-120 us).
    void retire(host::Fd&& pidfd, int pid, void* region);

    // The patched sites' jump table (layout.h, UMK_PATCH_CELLS): one
    // sealed memfd for every address space, made from the stub's thunk
    // address, which the first stub reports. -1 before that.
    void note_patch_thunks(u64 thunks);
    int patch_table_fd() const { return m_patch_table.get(); }

private:
    SeccompTrapPlatform() = default;
    void monitor_loop();
    // A new stub, started and stopped before its first guest instruction.
    KResult<std::unique_ptr<StubProcess>> spawn_stub();
    // Keeps kPoolSize stubs ready, so that execve does not wait for one,
    // from the second address space on: a guest that never execs (the
    // first process of `umk run` is made before any guest code ran) does
    // not pay for stubs it never uses, on a machine of two CPUs.
    void pool_loop();

    host::Fd m_stub_image; // sealed memfd holding umk-stub
    host::Fd m_epoll;
    host::Fd m_monitor_wakeup; // eventfd: stop the monitor
    std::thread m_monitor;
    static constexpr usize kPoolSize = 2;
    std::mutex m_pool_lock;
    std::condition_variable m_pool_cv;
    std::vector<std::unique_ptr<StubProcess>> m_pool; // guarded by m_pool_lock
    bool m_stopping { false };                        // guarded by m_pool_lock
    usize m_address_spaces_made { 0 };                // guarded by m_pool_lock
    std::thread m_pool_filler;
    std::mutex m_stubs_lock;
    std::unordered_map<int, StubProcess*> m_stubs; // by pidfd
    struct Retired {
        host::Fd pidfd;
        int pid;
        void* region;
        bool counted; // its CPU time is in m_exited_stubs_cpu_ns already
    };
    std::unordered_map<int, Retired> m_retired; // by pidfd, under m_stubs_lock
    void reap(Retired&);                        // under m_stubs_lock
    // Every 50 ms, by the monitor: is the host busy (HostLoad)? Tells
    // the waits (g_host_busy, each stub's op page) when the answer changes.
    void sample_host_load(u64 now_ns);
    HostLoad m_host_load { HostLoad::usable_cpus() }; // the monitor's
    u64 m_exited_stubs_cpu_ns { 0 };    // under m_stubs_lock
    std::once_flag m_patch_table_once;
    host::Fd m_patch_table;
};

class SeccompContext final : public Context {
public:
    SeccompContext(StubProcess& owner, umk_thread_slot& slot, unsigned index, int host_pid, int host_tid)
        : m_owner(owner), m_slot(slot), m_index(index), m_host_pid(host_pid), m_host_tid(host_tid) {}
    ~SeccompContext() override;
    StopReason switch_to_guest(Registers&, FaultInfo&) override;
    void interrupt() override;
    KResult<std::vector<u8>> fpu_state() override;
    void set_fpu_state(std::vector<u8> image) override;
    void reset_fpu_state() override;
    void exit_thread() override;
    KResult<u32> atomic_op(u64 addr, AtomicOp op, u32 operand, u32 expected) override;
    std::optional<u64> cpu_time_ns() override;
    KResult<void> set_cpu_affinity(std::span<const u8> mask) override;
    KResult<std::vector<u8>> cpu_affinity() override;
    KResult<std::unique_ptr<BreakpointHandle>> add_breakpoint(const Breakpoint& bp) override;
    bool patched_stop() const override { return m_patched_stop; }
    void write_outputs() override { write_staged(); }
    void blocking() override;

    unsigned index() const { return m_index; }
    // Its host thread ended (exit_thread): no memory access through it.
    void mark_exited() { m_exited = true; }
    bool exited() const { return m_exited; }
    int host_tid() const { return m_host_tid; }
    // While stopped: has the stub start a host thread for slot `index`;
    // its host tid.
    KResult<int> clone_thread(unsigned index);

    // While stopped: a memory op (mmap/munmap/mprotect within the
    // UMK_CMD_MEMORY_OP bounds) run by this thread's handler.
    KResult<void> memory_op(const umk_op&);
    bool belongs_to(const StubProcess& stub) const { return &m_owner == &stub; }

    // Arguments through the slot (docs/design.md): while stopped in a
    // patched syscall, what the thread copied as it stopped. True when it
    // covers [address, address + out.size()), now in `out`.
    bool prefetched(u64 address, std::span<u8> out);
    // The string the thread copied from `address` (its NUL not included).
    std::optional<std::string> prefetched_string(u64 address);
    // The copies are stale: the kernel wrote guest memory or changed it.
    void forget_prefetched() { m_prefetched = false; }
    // Leaves `data` for the thread to write at `address` (checked) as it
    // returns from a patched stop; false when it cannot (a trap, a
    // command sent meanwhile, no room).
    bool stage(u64 address, std::span<const u8> data);
    // The staged writes, by the kernel now: before any other access to
    // guest memory, or when the thread will not return by itself.
    void write_staged();

    // Waits on host CPU `cpu` (as the slot's kernel_cpu says) for the next
    // stop of this thread; false when the stub or this host thread is gone.
    bool wait_for_stop(u32 cpu);
    // The first stop (the thread asking for its registers) has come.
    bool wait_until_started();

private:
    // The slot's prefetch[] entries of this stop that lie within its data
    // area (the guest can write them), kept in `out`.
    std::span<const umk_copy> prefetch_entries(std::array<umk_copy, UMK_PREFETCH_ENTRIES>& out);
    // No staged writes left, by anyone.
    void drop_staged();
    // Resumes the thread (with `command`) and waits for its next stop.
    bool resume_and_wait(u32 command);
    // The same for a command the kernel waits on with locks held: no stop
    // within `limit` ends the guest process.
    bool resume_with_deadline(u32 command, std::chrono::milliseconds limit);

    StubProcess& m_owner;
    umk_thread_slot& m_slot;
    unsigned m_index;
    // The host ids interrupt() signals. The pid is the host's; a new
    // thread's tid comes back through its creator's slot, so a guest can
    // at most misdirect an interrupt to another thread of its own.
    int m_host_pid, m_host_tid;
    bool m_started { false }; // the stub thread reached its first stop
    bool m_exited { false };  // under the owner's m_threads_lock
    u32 m_resume_command { 0 };
    std::vector<u8> m_fpu_image; // for UMK_CMD_SET_XSAVE
    // The registers of the last stop, as the slot still holds them; that
    // stop came through a patched site (an answer that changes only rax
    // returns without a signal frame).
    Registers m_stop_regs {};
    bool m_stop_regs_valid { false };
    bool m_patched_stop { false };
    // This patched stop is still in umk_patched_wait (no command but
    // memory ops went to the thread, which would take it into its SIGSYS
    // handler).
    bool m_in_patched_wait { false };
    bool m_prefetched { false }; // the slot's prefetch[] is this stop's
    u32 m_staged { 0 };         // stage[] entries, not yet written
    std::array<umk_copy, UMK_STAGE_ENTRIES> m_stage_entries {}; // the kernel's copy of them
    u32 m_staged_bytes { 0 };
};

class StubProcess final : public AddressSpace {
public:
    StubProcess(SeccompTrapPlatform&, host::Fd pidfd, int pid, host::Fd ctl, void* region);
    ~StubProcess() override;

    KResult<void> map(const MapRequest&) override;
    KResult<void> unmap(u64 address, u64 length) override;
    KResult<void> protect(u64 address, u64 length, int prot) override;
    KResult<void> remap(u64 old_address, u64 old_length, u64 new_length, int flags, u64 new_address) override;
    KResult<void> advise(u64 address, u64 length, int advice) override;
    KResult<void> set_thp_disable(u64 disable, u64 flags) override;
    KResult<void> read(u64 address, std::span<u8> out) override;
    KResult<void> write(u64 address, std::span<const u8> data) override;
    KResult<std::string> read_string(u64 address, usize max) override;
    KResult<void> write_on_return(u64 address, std::span<const u8> data) override;
    KResult<void> force_write(u64 address, std::span<const u8> data) override;
    Context& main_context() override { return *m_threads.front(); }
    KResult<Context*> create_thread(Context& caller) override;
    void release_thread(Context&) override;
    u64 vdso_base() const override { return m_vdso_base; }
    void kill() override;
    KResult<std::unique_ptr<AddressSpace>> fork() override;
    CpuUsage cpu_usage() override;
    // For the monitor: whether its waits may yield (umk_op_page::host_busy).
    void set_host_busy(bool busy);
    std::optional<Resident> resident() override;
    std::optional<std::string> memory_rollup() override;
    KResult<void> defer_maps(bool on) override;
    std::optional<std::array<u8, 7>> patch_syscall_site(u64 return_address, u32 nr, CallInputs inputs,
                                                        bool read_site) override;
    PatchTable patch_table() const override;

    int pidfd() const { return m_pidfd.get(); }
    bool dead() const { return m_dead.load(); }
    // Called by the platform's monitor once the host process has exited.
    void mark_dead();
    // Once the stub's first stop arrived, before any guest code ran.
    void read_startup_info();
    // The thread with host tid `tid` is about to end: guest memory is
    // reached through another one from now on (a thread-group leader that
    // exited has no memory to read through).
    void retire_thread(int tid);
    // Patched site k's return address (the kernel's copy), if there is one.
    std::optional<u64> site_return_address(u64 k);
    // process_vm_writev, for an access check_access passed.
    KResult<void> write_checked(u64 address, std::span<const u8> data);

private:
    umk_thread_slot& slot(unsigned index);
    umk_site* site_table();
    // Before a guest memory access: queued maps sent; EFAULT outside the
    // guest's range.
    KResult<void> check_access(u64 address, usize size);
    // The calling guest thread (CallerScope) when it is one of ours.
    SeccompContext* caller() const;
    // Before the kernel touches guest memory or mappings: writes a thread
    // left staged go first; a change (`modifies`) makes the caller's
    // prefetched copies stale.
    void before_access(bool modifies);
    // Runs a batch of ops in the op thread; returns the first failure.
    KResult<void> run_ops(std::span<const umk_op> ops);
    // One mmap/munmap/mprotect: by the calling guest thread when it is one
    // of ours (CallerScope) and the op is within its bounds, else run_ops.
    KResult<void> run_memory_op(const umk_op& op);
    // Sends host fds over the control socket; the op that receives them
    // (as the stub's lowest free fds: 0, 1, ...). Under m_op_lock.
    KResult<void> send_fds(std::span<const int> fds);
    umk_op receive_fds_op(usize count);
    // Sends the queued maps (defer_maps). Under m_op_lock.
    KResult<void> flush_maps_locked();

    SeccompTrapPlatform& m_platform;
    host::Fd m_pidfd;
    int m_pid; // valid until the destructor reaps the process
    std::atomic<int> m_access_tid; // a live thread, for process_vm_readv/writev
    host::Fd m_ctl;
    void* m_region; // the control region, mapped shared in the kernel
    std::mutex m_op_lock;
    std::mutex m_threads_lock; // guards m_threads; never held while waiting on a stub
    std::vector<std::unique_ptr<SeccompContext>> m_threads; // [0] is the main thread
    std::set<unsigned> m_starting; // slots create_thread is filling, under m_threads_lock
    u32 m_op_seq { 0 };
    std::atomic<bool> m_defer_maps { false }; // set under m_op_lock
    std::vector<MapRequest> m_deferred;    // under m_op_lock
    std::atomic<bool> m_dead { false };
    u64 m_vdso_base { 0 };
    // The patched sites, by cell (the kernel's copy of the control
    // region's site table, which the guest can write). Cells are never
    // reused: a thread may still be on its way through an old one.
    std::mutex m_sites_lock; // m_sites: patches, and trap-path calls of a site
    std::vector<umk_site> m_sites; // by k; return_address 0: a cell not taken
    u64 m_next_site { 0 }, m_next_read_site { 0 }; // the next k of each kind to try
    // By the first patch; patch_syscall_site and patch_table are called
    // under the MemoryManager's lock.
    bool m_patch_table_mapped { false };
    std::once_flag m_mem_once;
    host::Fd m_mem; // /proc/PID/mem, for force_write
};

} // namespace umk::platform
