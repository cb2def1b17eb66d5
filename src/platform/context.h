#pragma once

// The platform interface (after gVisor's platform.Context): kernel code
// runs guest threads through it and never knows how guest code is run.
// Today there is one platform, seccomp_trap/.

#include "lib/kresult.h"
#include "lib/types.h"

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace umk::platform {

// General registers in struct user_regs_struct order (also the order of
// UMK_R15.. in seccomp_trap/layout.h).
struct Registers {
    enum Index {
        R15, R14, R13, R12, RBP, RBX, R11, R10, R9, R8, RAX, RCX, RDX, RSI, RDI, ORIG_RAX,
        RIP, CS, EFLAGS, RSP, SS, FS_BASE, GS_BASE, DS, ES, FS, GS,
        Count
    };
    u64 r[Count] {};

    u64& operator[](Index i) { return r[i]; }
    u64 operator[](Index i) const { return r[i]; }
    // The syscall argument registers of the x86-64 ABI, in order.
    u64 syscall_arg(int i) const;
};

enum class StopReason { Syscall, Fault, Interrupt, Exited };

struct FaultInfo {
    int signo { 0 };
    int code { 0 };
    u64 address { 0 };
    // What the CPU reported (the sigcontext's trapno, err and cr2).
    u64 trapno { 0 };
    u64 error_code { 0 };
    u64 cr2 { 0 };
};

// A hardware breakpoint (a debugger's DR0-DR3) on one guest thread.
struct Breakpoint {
    enum class Type { Execute, Write, ReadWrite };
    u64 address { 0 }; // below the guest's TASK_SIZE, aligned to `length`
    u32 length { 1 };  // 1, 2, 4 or 8; 8 for Execute
    Type type { Type::Execute };
};

class BreakpointHandle {
public:
    virtual ~BreakpointHandle() = default;
    // How often it has hit so far.
    virtual u64 hits() = 0;
};

// CPU time a guest address space's host process used.
struct CpuUsage {
    u64 user_ns { 0 };
    u64 system_ns { 0 };
    CpuUsage& operator+=(const CpuUsage& o)
    {
        user_ns += o.user_ns;
        system_ns += o.system_ns;
        return *this;
    }
};

// One guest thread.
class Context {
public:
    virtual ~Context() = default;
    // Runs the thread with `regs` until it stops; `regs` then holds its
    // state. May block indefinitely; returns Exited once the address
    // space is gone (the guest killed its host process, or kill()).
    virtual StopReason switch_to_guest(Registers& regs, FaultInfo& fault) = 0;

    // From any kernel thread: the thread stops (StopReason::Interrupt) at
    // its next guest instruction. Coalesced; late or spurious interrupts
    // are harmless (a stop with nothing to do).
    virtual void interrupt() = 0;

    // While the thread is stopped: its FPU/vector state, as the XSAVE image
    // Linux puts in a signal frame (software bytes and magic included).
    virtual KResult<std::vector<u8>> fpu_state() = 0;
    // Applied when the thread next resumes: load `image` (validated by the
    // caller), or reset to the initial state (a signal handler's start).
    virtual void set_fpu_state(std::vector<u8> image) = 0;
    virtual void reset_fpu_state() = 0;

    // While stopped: ends this thread's host thread (the kernel is done
    // with it). Returns once it is gone.
    virtual void exit_thread() = 0;

    // sched_setaffinity/getaffinity of the host thread that runs it
    // (a CPU mask in the kernel's format, whole longs).
    // While stopped in a syscall: an atomic read-modify-write of the 4-aligned
    // guest word at `addr`, done by the thread itself (the caller checked
    // the word is mapped writable). The value before. `op`: UMK_ATOMIC_*
    // of seccomp_trap/layout.h (futex(2)'s FUTEX_OP_* and a cmpxchg).
    enum class AtomicOp { Set, Add, Or, AndNot, Xor, CompareExchange };
    virtual KResult<u32> atomic_op(u64 addr, AtomicOp op, u32 operand, u32 expected) = 0;

    // CPU time the host thread running it has used (its guest code and the
    // host's work for it), when the host shows it.
    virtual std::optional<u64> cpu_time_ns() = 0;

    virtual KResult<void> set_cpu_affinity(std::span<const u8> mask) = 0;
    virtual KResult<std::vector<u8>> cpu_affinity() = 0;
    // Arms `bp` on the host thread that runs this thread: when it hits,
    // the thread stops with a SIGTRAP fault, code TRAP_PERF (the host may
    // merge that signal into another pending SIGTRAP: hits() counts every
    // hit). Disarmed when the handle goes.
    virtual KResult<std::unique_ptr<BreakpointHandle>> add_breakpoint(const Breakpoint& bp) = 0;
    // The last Syscall stop came through a patched site (patch_syscall_site),
    // not a trap.
    virtual bool patched_stop() const = 0;
    // The outputs the last call left for the thread's return
    // (AddressSpace::write_on_return), written now: the thread stops, takes
    // a signal or ends before it returns.
    virtual void write_outputs() = 0;
    // While in a syscall: the kernel is about to block for it (a futex, a
    // pipe, a child), so the thread need not spin for the answer.
    virtual void blocking() = 0;
};

// For the length of a guest syscall's handler: the calling guest thread,
// stopped, owned by this kernel thread. Its address space may run that
// call's memory ops through it instead of a round trip to a helper, take
// the call's inputs from what the thread copied as it stopped, and, when
// `outputs_last` (the call writes its results as its last act, as Linux's
// handlers that copy_to_user at their end), leave small outputs for the
// thread to write as it returns (AddressSpace::write_on_return).
class CallerScope {
public:
    explicit CallerScope(Context& caller, bool outputs_last = false)
        : m_previous(std::exchange(s_current, &caller))
        , m_previous_outputs_last(std::exchange(s_outputs_last, outputs_last))
    {
    }
    ~CallerScope()
    {
        s_current = m_previous;
        s_outputs_last = m_previous_outputs_last;
    }
    CallerScope(const CallerScope&) = delete;
    CallerScope& operator=(const CallerScope&) = delete;
    static Context* current() { return s_current; }
    static bool outputs_last() { return s_outputs_last; }

private:
    Context* m_previous;
    bool m_previous_outputs_last;
    static thread_local Context* s_current;
    static thread_local bool s_outputs_last;
};

// A kernel thread whose task ended and which may run another task
// (Kernel::start_task): it forgets what the platform kept for the last one
// (outputs staged through a context another thread may free), as its end
// would have.
void task_thread_done();

// What a syscall reads from guest memory, by argument (bit i: argument
// i): NUL-terminated strings, and buffers whose length is the next
// argument. A patched site's thread may copy them as it stops.
struct CallInputs {
    u8 strings { 0 };
    u8 buffers { 0 };
};

// A file mapping needs a host fd; the platform hands it to the guest's
// host process for the duration of one map call.
struct MapRequest {
    u64 address { 0 };   // always MAP_FIXED: the kernel picks addresses
    u64 length { 0 };
    int prot { 0 };
    int flags { 0 };     // MAP_SHARED/MAP_PRIVATE(+MAP_ANONYMOUS, ...)
    int host_fd { -1 };  // -1 for anonymous
    u64 offset { 0 };
};

// One guest address space (a host process).
class AddressSpace {
public:
    virtual ~AddressSpace() = default;
    virtual KResult<void> map(const MapRequest&) = 0;
    virtual KResult<void> unmap(u64 address, u64 length) = 0;
    virtual KResult<void> protect(u64 address, u64 length, int prot) = 0;
    // mremap(2) flags (MREMAP_MAYMOVE, MREMAP_FIXED); new_address with FIXED.
    virtual KResult<void> remap(u64 old_address, u64 old_length, u64 new_length, int flags, u64 new_address) = 0;
    virtual KResult<void> advise(u64 address, u64 length, int advice) = 0;
    // prctl(PR_SET_THP_DISABLE, disable, flags) on the host process: the
    // host's transparent huge pages off for all of it (or all but
    // MADV_HUGEPAGE ranges), as Linux's MMF_DISABLE_THP*. The host checks
    // the arguments (EINVAL).
    virtual KResult<void> set_thp_disable(u64 disable, u64 flags) = 0;
    // Guest memory. EFAULT where the range is not mapped accordingly.
    virtual KResult<void> read(u64 address, std::span<u8> out) = 0;
    virtual KResult<void> write(u64 address, std::span<const u8> data) = 0;
    // A NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond).
    virtual KResult<std::string> read_string(u64 address, usize max) = 0;
    // A write that may wait until the calling thread (CallerScope, with
    // outputs_last) returns to the guest, which then does it itself. The
    // caller checked that the range is writable anonymous memory: only
    // the guest unmapping it meanwhile makes the write fail, and the call
    // then returns EFAULT. Else, or with no room, as write().
    virtual KResult<void> write_on_return(u64 address, std::span<const u8> data) = 0;
    // As a debugger writes (Linux's FOLL_FORCE): a read-only private page
    // gets a private copy; a read-only shared one stays unwritten (EFAULT).
    // EPERM: the platform cannot here (the caller opens the page itself).
    virtual KResult<void> force_write(u64 address, std::span<const u8> data) = 0;
    // Where the host's vDSO is mapped (AT_SYSINFO_EHDR for the guest).
    virtual u64 vdso_base() const = 0;
    // The first thread, stopped before its first guest instruction.
    virtual Context& main_context() = 0;
    // A new thread of this address space, started by `caller` (stopped in
    // a syscall). Its first switch_to_guest gives it its registers.
    virtual KResult<Context*> create_thread(Context& caller) = 0;
    // After exit_thread(): the thread's resources may be reused.
    virtual void release_thread(Context&) = 0;
    // Kills the host process; every Context returns Exited.
    virtual void kill() = 0;
    // fork(2): a copy-on-write copy of this address space in a new host
    // process. Its main_context() is stopped before its first guest
    // instruction (its first switch_to_guest gives it its registers).
    virtual KResult<std::unique_ptr<AddressSpace>> fork() = 0;
    // While on, map() only queues its request; the queue goes to the host
    // process in as few op batches as possible at the next other
    // operation (memory access included) or when turned off. For execve,
    // which maps a dozen segments into a fresh address space.
    virtual KResult<void> defer_maps(bool on) = 0;
    // CPU time used so far; split into user and system once the host
    // process has ended, all user time before.
    virtual CpuUsage cpu_usage() = 0;
    // Memory the host process has resident, and of it shared (file or
    // shmem pages), in pages; nullopt when the host does not say.
    struct Resident {
        u64 pages { 0 }, shared_pages { 0 };
    };
    virtual std::optional<Resident> resident() = 0;
    // The host's smaps_rollup of the process, without its first line.
    virtual std::optional<std::string> memory_rollup() = 0;
    // Syscall-site patching: the 7 bytes that replace the `mov $nr,%eax;
    // syscall` ending at `return_address` so that the call reaches the
    // kernel without a trap (with `read_site`, the first 7 of read's
    // `xor %eax,%eax; syscall; cmp $-4096,%rax`, whose `syscall` ends
    // there); nullopt when there is no room for another site. The first
    // call maps the platform's jump table (patch_table).
    virtual std::optional<std::array<u8, 7>> patch_syscall_site(u64 return_address, u32 nr, CallInputs inputs,
                                                                bool read_site) = 0;
    // Where that table lies in the guest's range, and whether the first
    // patch mapped it there: that patch needs the range free, and mapping
    // over it later ends patching first.
    struct PatchTable {
        u64 start { 0 }, end { 0 };
        bool mapped { false };
    };
    virtual PatchTable patch_table() const = 0;
};

class Platform {
public:
    virtual ~Platform() = default;
    virtual KResult<std::unique_ptr<AddressSpace>> create_address_space() = 0;
};

} // namespace umk::platform
