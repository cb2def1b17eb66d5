#include "kernel/task/task.h"

#include "kernel/kernel.h"
#include "kernel/syscalls/signatures.h"
#include "kernel/syscalls/table.h"
#include "platform/seccomp_trap/layout.h"

#include <fmt/format.h>

#include <signal.h>
#include <sys/resource.h>

namespace umk::kernel {

Process::Process(Kernel& kernel, int pid, int ppid)
    : m_kernel(kernel), m_pid(pid), m_ppid(ppid), m_pgid(pid), m_sid(pid), m_fds(make_ref<FdTable>())
{
    for (int r = 0; r < kRlimitCount; r++) {
        struct rlimit host {};
        getrlimit(static_cast<__rlimit_resource>(r), &host);
        m_rlimits[r] = { host.rlim_cur, host.rlim_max };
    }
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
    m_creds = c;
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
    std::lock_guard lock(m_lock);
    return m_sigactions[signo - 1];
}

void Process::set_sigaction(int signo, const abi::Sigaction& action)
{
    std::lock_guard lock(m_lock);
    m_sigactions[signo - 1] = action;
}

void Process::reset_sigactions_for_exec()
{
    std::lock_guard lock(m_lock);
    for (auto& a : m_sigactions) {
        if (a.handler != reinterpret_cast<u64>(SIG_IGN))
            a = abi::Sigaction {};
    }
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

Thread::Thread(RefPtr<Process> process, int tid, platform::Context& context)
    : m_process(std::move(process)), m_tid(tid), m_context(&context)
{
}

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

} // namespace

void Thread::handle_syscall()
{
    using R = platform::Registers;
    u64 nr = m_regs[R::ORIG_RAX];
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

    const SyscallEntry& entry = syscall_entry(nr);
    KResult<u64> result = err(Errno::NOSYS);
    if (entry.handler) {
        result = entry.handler(*this, args);
    } else if (nr != UMK_COMPAT_SYSCALL) {
        auto name = syscall_name(nr);
        k.log_once(fmt::format("syscall {}", nr),
                   fmt::format("unimplemented syscall {} ({}): ENOSYS", name.empty() ? "?" : name, nr));
    }
    i64 ret = result ? static_cast<i64>(*result) : -static_cast<i64>(result.error());
    // No signal can interrupt yet (the processes issue adds delivery), so
    // a restart request only comes from a blocking call that saw EINTR.
    if (is_restart(ret))
        ret = -static_cast<i64>(Errno::INTR);

    if (tracing) {
        std::string line = std::move(call);
        if (m_exiting && (nr == 60 || nr == 231)) {
            line += ") = ?";
        } else {
            GuestMemoryReader reader(*traced_mm);
            line += nr == UMK_COMPAT_SYSCALL ? fmt::format(") = {}", ret) : strace::format_result(nr, args, ret, reader);
        }
        k.strace(line);
    }
    m_regs[R::RAX] = static_cast<u64>(ret);
}

void Thread::handle_fault(const platform::FaultInfo& fault)
{
    // Guest signal delivery comes with the processes issue: until then a
    // fault takes the default action, which for these signals is to
    // terminate with a core dump.
    kernel().log_once(fmt::format("fault {}", fault.signo),
                      fmt::format("guest fault: signal {} code {} at {:#x} (no handlers yet: default action)",
                                  fault.signo, fault.code, fault.address));
    m_process->set_exit_status(fault.signo | 0x80);
    m_process->mm().address_space().kill();
    m_exiting = true;
}

static thread_local Thread* t_current = nullptr;

Thread* current_thread() { return t_current; }

void Thread::run()
{
    t_current = this;
    platform::FaultInfo fault;
    while (!m_exiting) {
        switch (context().switch_to_guest(m_regs, fault)) {
        case platform::StopReason::Syscall:
            handle_syscall();
            break;
        case platform::StopReason::Fault:
            handle_fault(fault);
            break;
        case platform::StopReason::Exited:
            // The host process died under the guest (it can always kill
            // itself): the guest process dies with SIGKILL.
            m_process->set_exit_status(SIGKILL);
            m_exiting = true;
            break;
        }
    }
}

} // namespace umk::kernel
