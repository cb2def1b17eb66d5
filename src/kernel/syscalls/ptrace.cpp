// ptrace(2) between guest processes, and process_vm_readv/writev(2).
// Linux: kernel/ptrace.c, arch/x86/kernel/ptrace.c, mm/process_vm_access.c.
// The tracee side (stops) is in task/task.cpp; the link in task/ptrace.h.
#include "kernel/syscalls/handlers.h"

#include "platform/seccomp_trap/layout.h"

#include <elf.h>
#include <linux/ptrace.h>
#include <sys/mman.h>
#include <sys/uio.h>

namespace umk::kernel {

namespace {

using R = platform::Registers;

constexpr u64 kUserRegsSize = R::Count * 8;    // struct user_regs_struct
constexpr u64 kUserDebugRegs = 848;            // offsetof(struct user, u_debugreg)
constexpr u64 kFxsaveSize = 512;               // struct user_fpregs_struct
constexpr u64 kUserSize = 912;                 // sizeof(struct user)

// Linux's ptrace_check_attach: traced by the caller and stopped.
KResult<std::shared_ptr<PtraceLink>> stopped_tracee(Thread& t, int tid, bool need_stop = true)
{
    std::shared_ptr<PtraceLink> link;
    {
        std::lock_guard tree(t.kernel().tree_lock());
        for (auto& l : t.process().tracees)
            if (l->tid == tid && !l->exited && l->tracer == &t.process())
                link = l;
    }
    if (!link)
        return err(Errno::SRCH);
    std::lock_guard lock(link->tracee->signal_lock());
    if (!link->thread || link->leaving || (need_stop && !link->stopped))
        return err(Errno::SRCH);
    link->busy++; // the caller holds a BusyTracee
    return link;
}

// Links thread `tid` of `target` to `tracer`. Under the tree lock, then
// the tracee's signal_lock, with the thread looked up again: it may have
// gone since the caller found it.
KResult<void> attach(Thread& t, Process& tracer, RefPtr<Process> target, int tid)
{
    auto link = std::make_shared<PtraceLink>();
    link->tid = tid;
    link->tracee = target;
    std::lock_guard tree(t.kernel().tree_lock());
    std::lock_guard lock(target->signal_lock());
    Thread* thread = target->find_thread_locked(tid);
    if (!thread)
        return err(Errno::SRCH);
    if (thread->traced())
        return err(Errno::PERM);
    link->thread = thread;
    link->tracer = &tracer;
    tracer.tracees.push_back(link);
    thread->set_ptrace_link_locked(link);
    return {};
}

// Keeps the tracee thread from finishing its exit during a request.
struct BusyTracee {
    std::shared_ptr<PtraceLink> link;
    ~BusyTracee()
    {
        std::lock_guard lock(link->tracee->signal_lock());
        if (--link->busy == 0)
            link->idle.notify_all();
    }
};

void resume(PtraceLink& link, PtraceResume mode, int signo)
{
    std::lock_guard lock(link.tracee->signal_lock());
    link.resume = mode;
    link.resume_signal = signo;
    link.stopped = false;
    if (link.thread)
        link.thread->wake_from_wait_locked();
}

void unlink_tracee(Kernel& k, Process& tracer, const std::shared_ptr<PtraceLink>& link)
{
    std::lock_guard tree(k.tree_lock());
    std::erase(tracer.tracees, link);
    link->tracer = nullptr;
}

// A register write the CPU would refuse (Linux's putreg): EIO.
KResult<void> check_regs(const R& regs)
{
    if (regs[R::CS] != 0x33 || regs[R::SS] != 0x2b)
        return err(Errno::IO);
    if (regs[R::FS_BASE] >= UMK_GUEST_TASK_SIZE || regs[R::GS_BASE] >= UMK_GUEST_TASK_SIZE)
        return err(Errno::IO);
    return {};
}

// The XSAVE image as ptrace shows it: the software-reserved bytes of the
// legacy area carry XCR0 (Linux's USER_XSTATE_XCR0_WORD), not the signal
// frame's fpx_sw_bytes.
KResult<std::vector<u8>> ptrace_fpu_image(Thread& tracee)
{
    auto image = TRY(tracee.context().fpu_state());
    image.resize(std::max<usize>(image.size(), kFxsaveSize));
    u64 xfeatures = 0;
    u32 magic1;
    std::memcpy(&magic1, image.data() + 464, 4);
    if (magic1 == 0x46505853U) // FP_XSTATE_MAGIC1: xfeatures at 472
        std::memcpy(&xfeatures, image.data() + 472, 8);
    std::fill(image.begin() + 464, image.begin() + 512, u8 { 0 });
    std::memcpy(image.data() + 464, &xfeatures, 8);
    return image;
}

// Loads `legacy_and_extended` (ptrace's view) into the tracee: everything
// but the software-reserved bytes, which describe the host frame.
KResult<void> set_ptrace_fpu_image(Thread& tracee, std::span<const u8> in)
{
    auto image = TRY(tracee.context().fpu_state());
    image.resize(std::max<usize>(image.size(), kFxsaveSize));
    std::copy_n(in.begin(), std::min<usize>(in.size(), 464), image.begin());
    if (in.size() > 512)
        std::copy_n(in.begin() + 512, std::min(in.size(), image.size()) - 512, image.begin() + 512);
    // What the CPU would refuse to load is EINVAL here, as in Linux.
    if (!fpu_image_valid(image, image.size() > kFxsaveSize))
        return err(Errno::INVAL);
    tracee.context().set_fpu_state(std::move(image));
    return {};
}

} // namespace

KResult<u64> sys_ptrace(Thread& t, i64 request, int pid, u64 addr, u64 data)
{
    Kernel& k = t.kernel();
    switch (request) {
    case PTRACE_TRACEME: {
        RefPtr<Process> parent;
        {
            std::lock_guard tree(k.tree_lock());
            parent = RefPtr<Process>(t.process().parent_locked());
        }
        if (!parent)
            return err(Errno::PERM);
        TRY(attach(t, *parent, RefPtr<Process>(&t.process()), t.tid()));
        t.process().mm().stop_syscall_patching(); // the tracer sees the code as it is
        return 0;
    }
    case PTRACE_ATTACH: {
        auto task = TRY(find_task(t, pid));
        if (task.process.get() == &t.process())
            return err(Errno::PERM);
        if (!ptrace_may_access(t.process(), *task.process, false))
            return err(Errno::PERM);
        TRY(attach(t, t.process(), task.process, pid));
        task.process->mm().stop_syscall_patching(); // the tracer sees the code as it is
        task.process->send_signal(make_siginfo(kSigStop, kSiKernel), pid);
        return 0;
    }
    case PTRACE_SEIZE:
    case PTRACE_INTERRUPT:
    case PTRACE_LISTEN:
        k.log_once("ptrace seize", "ptrace: PTRACE_SEIZE, INTERRUPT and LISTEN not supported yet: EIO");
        return err(Errno::IO);
    case PTRACE_KILL: {
        auto link = TRY(stopped_tracee(t, pid, false));
        BusyTracee busy { link };
        link->tracee->kill_all(kSigKill);
        return 0;
    }
    }

    auto link = TRY(stopped_tracee(t, pid));
    BusyTracee busy { link };
    Thread& tracee = *link->thread; // valid while busy (see PtraceLink)
    MemoryManager& mm = tracee.mm();
    auto valid_signal = [](u64 sig) { return sig <= static_cast<u64>(kSigMax); };
    switch (request) {
    case PTRACE_CONT:
    case PTRACE_SYSCALL:
    case PTRACE_SINGLESTEP:
    case PTRACE_SYSEMU:
    case PTRACE_SYSEMU_SINGLESTEP: {
        if (!valid_signal(data))
            return err(Errno::IO);
        static constexpr std::pair<i64, PtraceResume> kModes[] = {
            { PTRACE_CONT, PtraceResume::Cont },       { PTRACE_SYSCALL, PtraceResume::Syscall },
            { PTRACE_SINGLESTEP, PtraceResume::SingleStep }, { PTRACE_SYSEMU, PtraceResume::Sysemu },
            { PTRACE_SYSEMU_SINGLESTEP, PtraceResume::SysemuSingleStep },
        };
        for (auto [req, mode] : kModes)
            if (req == request)
                resume(*link, mode, static_cast<int>(data));
        return 0;
    }
    case PTRACE_DETACH:
        if (!valid_signal(data))
            return err(Errno::IO);
        unlink_tracee(k, t.process(), link);
        tracee.set_ptrace_link(nullptr);
        resume(*link, PtraceResume::Cont, static_cast<int>(data));
        return 0;
    // The tracee's memory: an address it cannot reach is EIO, as Linux's
    // ptrace_access_vm.
    case PTRACE_PEEKTEXT:
    case PTRACE_PEEKDATA: {
        u64 word;
        if (!mm.force_read(addr, std::span(reinterpret_cast<u8*>(&word), 8)))
            return err(Errno::IO);
        TRY(copy_out(t, data, word));
        return 0;
    }
    case PTRACE_POKETEXT:
    case PTRACE_POKEDATA:
        if (!mm.force_write(addr, std::span(reinterpret_cast<const u8*>(&data), 8)))
            return err(Errno::IO);
        return 0;
    case PTRACE_PEEKUSR: {
        if (addr & 7)
            return err(Errno::IO);
        u64 word = 0;
        if (addr < kUserRegsSize)
            word = tracee.regs().r[addr / 8];
        else if (addr >= kUserDebugRegs && addr < kUserDebugRegs + 64)
            word = tracee.debug_registers().read(static_cast<int>((addr - kUserDebugRegs) / 8));
        else if (addr >= kUserSize)
            return err(Errno::IO); // the rest of struct user reads as 0
        TRY(copy_out(t, data, word));
        return 0;
    }
    case PTRACE_POKEUSR: {
        if (addr & 7 || addr >= kUserSize)
            return err(Errno::IO);
        if (addr < kUserRegsSize) {
            R regs = tracee.regs();
            regs.r[addr / 8] = data;
            TRY(check_regs(regs));
            tracee.regs() = regs;
            return 0;
        }
        if (addr >= kUserDebugRegs && addr < kUserDebugRegs + 64) {
            u64 vdso = mm.vdso_base();
            DebugRegisters::UserRange vdso_range { vdso, vdso ? vdso + mm.vdso_size() : 0 };
            TRY(tracee.debug_registers().write(tracee.context(), vdso_range, static_cast<int>((addr - kUserDebugRegs) / 8), data));
            return 0;
        }
        return err(Errno::IO);
    }
    case PTRACE_GETREGS:
        TRY(t.mm().copy_out(data, std::span(reinterpret_cast<const u8*>(tracee.regs().r), kUserRegsSize)));
        return 0;
    case PTRACE_SETREGS: {
        R regs;
        TRY(t.mm().copy_in(data, std::span(reinterpret_cast<u8*>(regs.r), kUserRegsSize)));
        TRY(check_regs(regs));
        tracee.regs() = regs;
        return 0;
    }
    case PTRACE_GETFPREGS: {
        auto image = TRY(ptrace_fpu_image(tracee));
        TRY(t.mm().copy_out(data, std::span(image.data(), kFxsaveSize)));
        return 0;
    }
    case PTRACE_SETFPREGS: {
        std::vector<u8> legacy(kFxsaveSize);
        TRY(t.mm().copy_in(data, legacy));
        TRY(set_ptrace_fpu_image(tracee, legacy));
        return 0;
    }
    case PTRACE_GETREGSET:
    case PTRACE_SETREGSET: {
        auto iov = TRY(copy_in<abi::Iovec>(t, data));
        std::vector<u8> bytes;
        if (addr == NT_PRSTATUS) {
            bytes.assign(reinterpret_cast<const u8*>(tracee.regs().r), reinterpret_cast<const u8*>(tracee.regs().r) + kUserRegsSize);
        } else if (addr == NT_PRFPREG || addr == NT_X86_XSTATE) {
            bytes = TRY(ptrace_fpu_image(tracee));
            if (addr == NT_PRFPREG)
                bytes.resize(kFxsaveSize);
        } else {
            return err(Errno::INVAL);
        }
        usize n = std::min<usize>(iov.len, bytes.size());
        if (request == PTRACE_GETREGSET) {
            TRY(t.mm().copy_out(iov.base, std::span(bytes.data(), n)));
            iov.len = n;
            TRY(copy_out(t, data, iov));
            return 0;
        }
        std::vector<u8> in(n);
        TRY(t.mm().copy_in(iov.base, in));
        if (addr == NT_PRSTATUS) {
            if (n != kUserRegsSize)
                return err(Errno::INVAL);
            R regs;
            std::memcpy(regs.r, in.data(), n);
            TRY(check_regs(regs));
            tracee.regs() = regs;
            return 0;
        }
        TRY(set_ptrace_fpu_image(tracee, in));
        return 0;
    }
    case PTRACE_GETSIGINFO: {
        std::optional<abi::Siginfo> info;
        {
            std::lock_guard lock(link->tracee->signal_lock());
            info = link->siginfo;
        }
        if (!info)
            return err(Errno::INVAL);
        TRY(copy_out(t, data, *info));
        return 0;
    }
    case PTRACE_SETSIGINFO: {
        auto info = TRY(copy_in<abi::Siginfo>(t, data));
        std::lock_guard lock(link->tracee->signal_lock());
        if (!link->siginfo)
            return err(Errno::INVAL);
        link->siginfo = info;
        return 0;
    }
    case PTRACE_GETEVENTMSG: {
        u64 msg;
        {
            std::lock_guard lock(link->tracee->signal_lock());
            msg = link->event_msg;
        }
        TRY(copy_out(t, data, msg));
        return 0;
    }
    case PTRACE_SETOPTIONS: {
        constexpr u64 kKnown = kPtraceTraceSysGood | kPtraceTraceFork | kPtraceTraceVfork | kPtraceTraceClone
            | kPtraceTraceExec | kPtraceTraceVforkDone | kPtraceTraceExit | kPtraceTraceSeccomp | kPtraceExitKill
            | kPtraceSuspendSeccomp;
        if (data & ~kKnown)
            return err(Errno::INVAL);
        std::lock_guard lock(link->tracee->signal_lock());
        link->options = static_cast<u32>(data);
        return 0;
    }
    case PTRACE_GETSIGMASK:
        if (addr != 8)
            return err(Errno::INVAL);
        TRY(copy_out(t, data, tracee.signal_mask));
        return 0;
    case PTRACE_SETSIGMASK: {
        if (addr != 8)
            return err(Errno::INVAL);
        u64 mask = TRY(copy_in<u64>(t, data));
        std::lock_guard lock(link->tracee->signal_lock());
        tracee.signal_mask = mask & ~kUnblockable;
        return 0;
    }
    case PTRACE_GET_SYSCALL_INFO: {
        // struct ptrace_syscall_info: op, arch, ip, sp, then entry
        // (nr, args) or exit (rval, is_error).
        struct {
            u8 op;
            u8 pad[3];
            u32 arch;
            u64 ip, sp;
            u64 words[7];
            u32 ret_data;
        } info {};
        int op;
        {
            std::lock_guard lock(link->tracee->signal_lock());
            op = link->syscall_op;
        }
        const R& regs = tracee.regs();
        info.op = static_cast<u8>(op);
        info.arch = 0xc000003e;
        info.ip = regs[R::RIP];
        info.sp = regs[R::RSP];
        usize size = offsetof(decltype(info), words);
        if (op == 1 || op == 3) { // entry; seccomp also has the filter's data
            info.words[0] = regs[R::ORIG_RAX];
            for (int i = 0; i < 6; i++)
                info.words[1 + i] = regs.syscall_arg(i);
            size += 7 * 8;
            if (op == 3) {
                std::lock_guard lock(link->tracee->signal_lock());
                info.ret_data = static_cast<u32>(link->event_msg);
                size += 4;
            }
        } else if (op == 2) {
            i64 rval = static_cast<i64>(regs[R::RAX]);
            info.words[0] = static_cast<u64>(rval);
            info.words[1] = rval < 0 && rval >= -4095 ? 1 : 0;
            size += 8 + 1;
        }
        TRY(t.mm().copy_out(data, std::span(reinterpret_cast<const u8*>(&info), std::min<usize>(addr, size))));
        return size;
    }
    }
    k.log_once(fmt::format("ptrace {}", request), fmt::format("ptrace: request {} not supported: EIO", request));
    return err(Errno::IO);
}

// process_vm_readv/writev(2): another process's memory, with ptrace's
// permission. Partial transfers stop at the first fault.
static KResult<u64> process_vm(Thread& t, int pid, GuestAddr local_iov, u64 liovcnt, GuestAddr remote_iov,
                               u64 riovcnt, u64 flags, bool write)
{
    if (flags)
        return err(Errno::INVAL);
    if (liovcnt > 1024 || riovcnt > 1024)
        return err(Errno::INVAL);
    auto target = t.kernel().find_process(pid);
    if (!target) {
        // a thread id names its process too
        target = t.kernel().find_thread_group(pid);
        if (!target)
            return err(Errno::SRCH);
    }
    if (target.get() != &t.process() && !ptrace_may_access(t.process(), *target, false))
        return err(Errno::PERM);
    auto remote_mm = target->mm_ref();
    if (!remote_mm)
        return err(Errno::SRCH);
    std::vector<abi::Iovec> local(liovcnt), remote(riovcnt);
    if (liovcnt)
        TRY(t.mm().copy_in(local_iov.value, std::span(reinterpret_cast<u8*>(local.data()), liovcnt * sizeof(abi::Iovec))));
    if (riovcnt)
        TRY(t.mm().copy_in(remote_iov.value, std::span(reinterpret_cast<u8*>(remote.data()), riovcnt * sizeof(abi::Iovec))));
    u64 done = 0;
    usize li = 0, ri = 0;
    u64 loff = 0, roff = 0;
    std::vector<u8> buffer;
    while (li < local.size() && ri < remote.size()) {
        u64 n = std::min({ local[li].len - loff, remote[ri].len - roff, u64 { 1 << 20 } });
        if (n) {
            buffer.resize(n);
            u64 l = local[li].base + loff, r = remote[ri].base + roff;
            MemoryManager& from = write ? t.mm() : *remote_mm;
            MemoryManager& to = write ? *remote_mm : t.mm();
            auto moved = from.copy_in(write ? l : r, buffer);
            if (moved)
                moved = to.copy_out(write ? r : l, buffer);
            if (!moved)
                return done ? KResult<u64>(done) : err(moved.error());
            done += n;
            loff += n;
            roff += n;
        }
        if (loff == local[li].len) {
            li++;
            loff = 0;
        }
        if (ri < remote.size() && roff == remote[ri].len) {
            ri++;
            roff = 0;
        }
    }
    return done;
}

KResult<u64> sys_process_vm_readv(Thread& t, int pid, GuestAddr local_iov, u64 liovcnt, GuestAddr remote_iov,
                                  u64 riovcnt, u64 flags)
{
    return process_vm(t, pid, local_iov, liovcnt, remote_iov, riovcnt, flags, false);
}

KResult<u64> sys_process_vm_writev(Thread& t, int pid, GuestAddr local_iov, u64 liovcnt, GuestAddr remote_iov,
                                   u64 riovcnt, u64 flags)
{
    return process_vm(t, pid, local_iov, liovcnt, remote_iov, riovcnt, flags, true);
}

} // namespace umk::kernel
