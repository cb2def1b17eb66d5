// Identity, exit, execve, limits, prctl. Linux: kernel/sys.c, kernel/exit.c,
// arch/x86/kernel/process_64.c (arch_prctl).
#include "kernel/syscalls/handlers.h"

#include "kernel/tty/pty.h"

#include "kernel/exec/exec.h"
#include "kernel/kernel.h"
#include "platform/seccomp_trap/layout.h"

#include <asm/prctl.h>
#include <linux/prctl.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

#include <cstring>

namespace umk::kernel {

using R = platform::Registers;

KResult<u64> sys_getpid(Thread& t) { return static_cast<u64>(t.process().pid()); }
KResult<u64> sys_gettid(Thread& t) { return static_cast<u64>(t.tid()); }
KResult<u64> sys_getppid(Thread& t) { return static_cast<u64>(t.process().ppid()); }
KResult<u64> sys_getuid(Thread& t) { return t.process().creds().uid; }
KResult<u64> sys_geteuid(Thread& t) { return t.process().creds().euid; }
KResult<u64> sys_getgid(Thread& t) { return t.process().creds().gid; }
KResult<u64> sys_getegid(Thread& t) { return t.process().creds().egid; }
KResult<u64> sys_getpgrp(Thread& t) { return static_cast<u64>(t.process().pgid()); }

// A process of this guest by pid; 0 is the caller's.
static KResult<RefPtr<Process>> process_by_pid(Thread& t, int pid)
{
    if (pid == 0)
        return RefPtr<Process>(&t.process());
    auto p = t.kernel().find_process(pid);
    if (!p)
        return err(Errno::SRCH);
    return p;
}

KResult<u64> sys_getpgid(Thread& t, int pid)
{
    auto p = TRY(process_by_pid(t, pid));
    return static_cast<u64>(p->pgid());
}

KResult<u64> sys_getsid(Thread& t, int pid)
{
    auto p = TRY(process_by_pid(t, pid));
    return static_cast<u64>(p->sid());
}

// setpgid(2), as Linux's kernel/sys.c: the caller or a child of its that
// has not exec'd, within the caller's session; the group exists there or
// is the process's own pid.
KResult<u64> sys_setpgid(Thread& t, int pid, int pgid)
{
    Process& self = t.process();
    Kernel& k = t.kernel();
    if (pid == 0)
        pid = self.pid();
    if (pgid == 0)
        pgid = pid;
    if (pgid < 0)
        return err(Errno::INVAL);
    auto target = TRY(process_by_pid(t, pid));
    std::lock_guard tree(k.tree_lock());
    if (target.get() != &self) {
        if (target->parent_locked() != &self)
            return err(Errno::SRCH);
        if (target->sid_locked() != self.sid_locked())
            return err(Errno::PERM);
        if (target->did_exec())
            return err(Errno::ACCES);
    }
    if (target->sid_locked() == target->pid())
        return err(Errno::PERM); // a session leader stays in its group
    if (pgid != target->pid()) {
        bool found = false;
        for (auto& p : k.processes()) {
            if (p->pgid_locked() == pgid && p->sid_locked() == self.sid_locked() && !p->zombie_locked()) {
                found = true;
                break;
            }
        }
        if (!found)
            return err(Errno::PERM);
    }
    target->set_pgid_locked(pgid);
    return 0;
}

KResult<u64> sys_setsid(Thread& t)
{
    Process& self = t.process();
    Kernel& k = t.kernel();
    std::lock_guard tree(k.tree_lock());
    // Not when a process group with our pid exists (we lead it or not).
    for (auto& p : k.processes())
        if (p->pgid_locked() == self.pid())
            return err(Errno::PERM);
    self.set_sid_locked(self.pid());
    self.set_pgid_locked(self.pid());
    self.ctty = nullptr; // a new session has no controlling terminal
    self.console_ctty = false;
    return static_cast<u64>(self.pid());
}

static KResult<u64> copy_ids(Thread& t, GuestAddr a, GuestAddr b, GuestAddr c, u32 x, u32 y, u32 z)
{
    TRY(copy_out(t, a.value, x));
    TRY(copy_out(t, b.value, y));
    TRY(copy_out(t, c.value, z));
    return 0;
}

KResult<u64> sys_getresuid(Thread& t, GuestAddr r, GuestAddr e, GuestAddr s)
{
    auto c = t.process().creds();
    return copy_ids(t, r, e, s, c.uid, c.euid, c.suid);
}

KResult<u64> sys_getresgid(Thread& t, GuestAddr r, GuestAddr e, GuestAddr s)
{
    auto c = t.process().creds();
    return copy_ids(t, r, e, s, c.gid, c.egid, c.sgid);
}

KResult<u64> sys_getgroups(Thread& t, int size, GuestAddr list)
{
    auto c = t.process().creds();
    if (size < 0)
        return err(Errno::INVAL);
    if (size == 0)
        return c.groups.size();
    if (static_cast<usize>(size) < c.groups.size())
        return err(Errno::INVAL);
    TRY(t.mm().copy_out(list.value, std::span(reinterpret_cast<const u8*>(c.groups.data()), c.groups.size() * 4)));
    return c.groups.size();
}

KResult<u64> sys_uname(Thread& t, GuestAddr buf)
{
    abi::Utsname u {};
    const auto& o = t.kernel().options();
    auto put = [](char (&field)[65], std::string_view s) { std::memcpy(field, s.data(), std::min<usize>(s.size(), 64)); };
    put(u.sysname, "Linux");
    put(u.nodename, t.kernel().hostname());
    put(u.release, o.kernel_release);
    put(u.version, o.kernel_version);
    put(u.machine, "x86_64");
    put(u.domainname, t.kernel().domainname());
    TRY(copy_out(t, buf.value, u));
    return 0;
}

namespace {

// sethostname/setdomainname: CAP_SYS_ADMIN, at most 64 bytes (__NEW_UTS_LEN).
KResult<std::string> uts_name_in(Thread& t, GuestAddr name, i64 len)
{
    if (!t.process().creds().has(kCapSysAdmin))
        return err(Errno::PERM);
    if (len < 0 || len > 64)
        return err(Errno::INVAL);
    std::string out(static_cast<usize>(len), '\0');
    TRY(t.mm().copy_in(name.value, std::span(reinterpret_cast<u8*>(out.data()), out.size())));
    out.resize(std::strlen(out.c_str())); // up to a NUL within len
    return out;
}

} // namespace

KResult<u64> sys_sethostname(Thread& t, GuestAddr name, i64 len)
{
    t.kernel().set_hostname(TRY(uts_name_in(t, name, len)));
    return 0;
}

KResult<u64> sys_setdomainname(Thread& t, GuestAddr name, i64 len)
{
    t.kernel().set_domainname(TRY(uts_name_in(t, name, len)));
    return 0;
}

// The calling thread ends; with it the process when it was the last.
KResult<u64> sys_exit(Thread& t, int status)
{
    t.exit_thread(status);
    return 0;
}

KResult<u64> sys_exit_group(Thread& t, int status)
{
    t.end_group((status & 0xff) << 8);
    return 0;
}

KResult<u64> sys_set_tid_address(Thread& t, GuestAddr tidptr)
{
    t.clear_child_tid = tidptr.value;
    return static_cast<u64>(t.tid());
}

KResult<u64> sys_set_robust_list(Thread& t, GuestAddr head, u64 len)
{
    if (len != 24) // sizeof(struct robust_list_head)
        return err(Errno::INVAL);
    t.robust_list = head.value;
    t.robust_list_len = len;
    return 0;
}

KResult<u64> sys_get_robust_list(Thread& t, int pid, GuestAddr head_ptr, GuestAddr len_ptr)
{
    if (pid != 0 && pid != t.tid())
        return err(Errno::SRCH);
    TRY(copy_out(t, head_ptr.value, t.robust_list));
    TRY(copy_out(t, len_ptr.value, u64 { 24 }));
    return 0;
}

// Restartable sequences need the kernel to rewrite the guest's ip on
// preemption; umk does not offer them and glibc falls back. Never passed
// to the host.
KResult<u64> sys_rseq(Thread&) { return err(Errno::NOSYS); }

KResult<u64> sys_arch_prctl(Thread& t, int code, u64 addr)
{
    switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
        if (addr >= UMK_GUEST_TASK_SIZE)
            return err(Errno::PERM);
        t.regs()[code == ARCH_SET_FS ? R::FS_BASE : R::GS_BASE] = addr;
        return 0;
    case ARCH_GET_FS:
    case ARCH_GET_GS:
        TRY(copy_out(t, addr, t.regs()[code == ARCH_GET_FS ? R::FS_BASE : R::GS_BASE]));
        return 0;
    case ARCH_GET_CPUID:
        return 1;
    case ARCH_SET_CPUID:
        return err(Errno::NODEV); // no CPUID faulting
    case 0x5001: // ARCH_SHSTK_ENABLE .. ARCH_SHSTK_STATUS: no CET shadow stack
    case 0x5002:
    case 0x5003:
    case 0x5004:
    case 0x5005:
        return err(Errno::INVAL);
    }
    return err(Errno::INVAL);
}

// prlimit(2): the limits of the process of thread `pid` (0: the caller's).
// Another process's need the caller's real ids to be all of its ids, or
// CAP_SYS_RESOURCE (Linux's check_prlimit_permission).
KResult<u64> sys_prlimit64(Thread& t, int pid, u32 resource, GuestAddr new_limit, GuestAddr old_limit)
{
    if (resource >= static_cast<u32>(kRlimitCount))
        return err(Errno::INVAL);
    std::optional<abi::Rlimit> wanted;
    if (!new_limit.null()) {
        wanted = TRY(copy_in<abi::Rlimit>(t, new_limit.value));
        if (wanted->cur > wanted->max)
            return err(Errno::INVAL);
    }
    RefPtr<Process> target(&t.process());
    if (pid != 0 && pid != t.tid())
        target = TRY(find_task(t, pid)).process;
    auto creds = t.process().creds();
    if (target.get() != &t.process() && !creds.has(kCapSysResource)) {
        auto them = target->creds();
        if (creds.uid != them.uid || creds.uid != them.euid || creds.uid != them.suid || creds.gid != them.gid
            || creds.gid != them.egid || creds.gid != them.sgid)
            return err(Errno::PERM);
    }
    auto old = target->rlimit(static_cast<int>(resource));
    if (wanted) {
        if (wanted->max > old.max && !creds.has(kCapSysResource))
            return err(Errno::PERM);
        if (resource == RLIMIT_NOFILE && wanted->max > 1024 * 1024)
            return err(Errno::PERM); // fs.nr_open
    }
    if (!old_limit.null())
        TRY(copy_out(t, old_limit.value, old));
    if (wanted)
        target->set_rlimit(static_cast<int>(resource), *wanted);
    return 0;
}

KResult<u64> sys_getrlimit(Thread& t, u32 resource, GuestAddr limit)
{
    return sys_prlimit64(t, 0, resource, GuestAddr {}, limit);
}

KResult<u64> sys_setrlimit(Thread& t, u32 resource, GuestAddr limit)
{
    return sys_prlimit64(t, 0, resource, limit, GuestAddr {});
}

KResult<u64> sys_getrandom(Thread& t, GuestAddr buf, u64 length, u32 flags)
{
    if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
        return err(Errno::INVAL);
    if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
        return err(Errno::INVAL);
    length = std::min<u64>(length, 32 * 1024 * 1024);
    u8 chunk[4096];
    u64 done = 0;
    while (done < length) {
        usize n = static_cast<usize>(std::min<u64>(sizeof chunk, length - done));
        if (getrandom(chunk, n, 0) != static_cast<ssize_t>(n))
            return err(Errno::INTR);
        if (auto r = t.mm().copy_out(buf.value + done, std::span(chunk, n)); !r)
            return done ? KResult<u64>(done) : err(r.error());
        done += n;
    }
    return done;
}

KResult<u64> sys_sysinfo(Thread& t, GuestAddr buf)
{
    struct sysinfo host {};
    ::sysinfo(&host);
    abi::Sysinfo s {};
    timespec now {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    s.uptime = now.tv_sec - t.kernel().boot_time().sec;
    for (int i = 0; i < 3; i++)
        s.loads[i] = host.loads[i];
    s.totalram = host.totalram;
    s.freeram = host.freeram;
    s.sharedram = host.sharedram;
    s.bufferram = host.bufferram;
    s.totalswap = host.totalswap;
    s.freeswap = host.freeswap;
    s.procs = 1;
    s.mem_unit = host.mem_unit;
    TRY(copy_out(t, buf.value, s));
    return 0;
}

KResult<u64> sys_umask(Thread& t, u32 mask)
{
    std::lock_guard lock(t.process().lock());
    u32 old = t.process().fs_locked().umask;
    t.process().fs_locked().umask = mask & 0777;
    return old;
}

KResult<u64> sys_prctl(Thread& t, int option, u64 arg2, u64 arg3, u64 arg4, u64 arg5)
{
    switch (option) {
    case PR_SET_NAME: {
        std::string name;
        for (u64 i = 0; i < 15; i++) {
            char c = static_cast<char>(TRY(copy_in<u8>(t, arg2 + i)));
            if (!c)
                break;
            name += c;
        }
        t.set_comm(name);
        return 0;
    }
    case PR_GET_NAME: {
        char name[16] {};
        auto comm = t.comm();
        std::memcpy(name, comm.data(), std::min<usize>(comm.size(), 15));
        TRY(t.mm().copy_out(arg2, std::span(reinterpret_cast<const u8*>(name), 16)));
        return 0;
    }
    case PR_GET_DUMPABLE:
        return t.process().dumpable ? 1 : 0;
    case PR_SET_DUMPABLE:
        if (arg2 > 1)
            return err(Errno::INVAL);
        t.process().dumpable = arg2 == 1;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
    case PR_SET_NO_NEW_PRIVS:
    case PR_GET_SECCOMP:
    case PR_SET_SECCOMP:
        return seccomp_prctl(t, option, arg2, arg3);
    case PR_SET_PDEATHSIG:
        if (arg2 > static_cast<u64>(kSigMax))
            return err(Errno::INVAL);
        t.process().pdeath_signal = static_cast<int>(arg2);
        return 0;
    case PR_GET_PDEATHSIG:
        TRY(copy_out(t, arg2, static_cast<i32>(t.process().pdeath_signal.load())));
        return 0;
    // Capabilities (Linux's cap_task_prctl): securebits, the bounding and
    // ambient sets.
    case PR_SET_KEEPCAPS:
        if (arg2 > 1)
            return err(Errno::INVAL);
        TRY(t.process().update_creds([&](Credentials& c) -> KResult<void> {
            if (c.securebits & (kSecureKeepCaps << 1))
                return err(Errno::PERM);
            c.securebits = arg2 ? c.securebits | kSecureKeepCaps : c.securebits & ~kSecureKeepCaps;
            return {};
        }));
        return 0;
    case PR_GET_KEEPCAPS:
        return (t.process().creds().securebits & kSecureKeepCaps) ? 1 : 0;
    case PR_GET_SECUREBITS:
        return t.process().creds().securebits;
    case PR_SET_SECUREBITS:
        TRY(t.process().update_creds([&](Credentials& c) -> KResult<void> {
            u32 locks = c.securebits & kSecureAllLocks;
            if (((locks >> 1) & (c.securebits ^ arg2)) || (locks & ~arg2) || (arg2 & ~u64 { kSecureAllBits | kSecureAllLocks })
                || !c.has(kCapSetpcap))
                return err(Errno::PERM);
            c.securebits = static_cast<u32>(arg2);
            return {};
        }));
        return 0;
    case PR_CAPBSET_READ:
        if (!cap_valid(arg2))
            return err(Errno::INVAL);
        return (t.process().creds().cap_bounding >> arg2) & 1;
    case PR_CAPBSET_DROP:
        TRY(t.process().update_creds([&](Credentials& c) -> KResult<void> {
            if (!c.has(kCapSetpcap))
                return err(Errno::PERM);
            if (!cap_valid(arg2))
                return err(Errno::INVAL);
            c.cap_bounding &= ~cap_bit(static_cast<int>(arg2));
            return {};
        }));
        return 0;
    case PR_CAP_AMBIENT:
        if (arg2 == PR_CAP_AMBIENT_CLEAR_ALL) {
            if (arg3 | arg4 | arg5)
                return err(Errno::INVAL);
            TRY(t.process().update_creds([](Credentials& c) -> KResult<void> {
                c.cap_ambient = 0;
                return {};
            }));
            return 0;
        }
        if (!cap_valid(arg3) || arg4 || arg5)
            return err(Errno::INVAL);
        switch (arg2) {
        case PR_CAP_AMBIENT_IS_SET:
            return (t.process().creds().cap_ambient >> arg3) & 1;
        case PR_CAP_AMBIENT_RAISE:
        case PR_CAP_AMBIENT_LOWER:
            TRY(t.process().update_creds([&](Credentials& c) -> KResult<void> {
                u64 bit = cap_bit(static_cast<int>(arg3));
                if (arg2 == PR_CAP_AMBIENT_LOWER) {
                    c.cap_ambient &= ~bit;
                    return {};
                }
                if (!(c.cap_permitted & bit) || !(c.cap_inheritable & bit) || (c.securebits & kSecureNoCapAmbientRaise))
                    return err(Errno::PERM);
                c.cap_ambient |= bit;
                return {};
            }));
            return 0;
        }
        return err(Errno::INVAL);
    case PR_SET_THP_DISABLE:
        if (arg4 || arg5)
            return err(Errno::INVAL);
        TRY(t.mm().set_thp_disable(arg2, arg3));
        return 0;
    case PR_GET_THP_DISABLE:
        if (arg2 || arg3 || arg4 || arg5)
            return err(Errno::INVAL);
        return static_cast<u64>(t.mm().thp_disable());
    case PR_SET_CHILD_SUBREAPER:
        t.process().child_subreaper = arg2 != 0;
        return 0;
    case PR_GET_CHILD_SUBREAPER:
        TRY(copy_out(t, arg2, static_cast<i32>(t.process().child_subreaper.load())));
        return 0;
    }
    t.kernel().log_once(fmt::format("prctl {}", option), fmt::format("prctl: option {} not supported yet: EINVAL", option));
    return err(Errno::INVAL);
}

namespace {

// Guest memory read a whole page at a time, the last page kept: execve's
// pointer arrays and strings mostly share a few pages (a copy each took
// 40 host calls and ~60 us for an ordinary environment). Readable is a
// property of whole pages, so reading all of one fails as reading any of
// its bytes would.
class GuestPages {
public:
    explicit GuestPages(MemoryManager& mm) : m_mm(mm) {}

    KResult<u64> read_u64(u64 address)
    {
        u64 value;
        TRY(read(address, std::span(reinterpret_cast<u8*>(&value), sizeof value)));
        return value;
    }

    // The NUL-terminated string at `address`, shorter than `max`
    // (else ENAMETOOLONG).
    KResult<std::string> read_string(u64 address, usize max)
    {
        std::string out;
        for (;;) {
            auto rest = TRY(page_from(address));
            auto* nul = static_cast<const u8*>(std::memchr(rest.data(), 0, rest.size()));
            usize n = nul ? static_cast<usize>(nul - rest.data()) : rest.size();
            if (out.size() + n >= max)
                return err(Errno::NAMETOOLONG);
            out.append(reinterpret_cast<const char*>(rest.data()), n);
            if (nul)
                return out;
            address += n;
        }
    }

private:
    KResult<void> read(u64 address, std::span<u8> out)
    {
        while (!out.empty()) {
            auto rest = TRY(page_from(address));
            usize n = std::min(rest.size(), out.size());
            std::memcpy(out.data(), rest.data(), n);
            out = out.subspan(n);
            address += n;
        }
        return {};
    }

    // The bytes from `address` to the end of its page.
    KResult<std::span<const u8>> page_from(u64 address)
    {
        u64 page = page_round_down(address);
        if (page != m_page) {
            if (address > ~u64 { 0 } - kPageSize)
                return err(Errno::FAULT);
            TRY(m_mm.copy_in(page, std::span(m_data)));
            m_page = page;
        }
        return std::span<const u8>(m_data).subspan(address - page);
    }

    MemoryManager& m_mm;
    u64 m_page { ~u64 { 0 } };
    std::array<u8, kPageSize> m_data;
};

} // namespace

// execve(2)'s argv and envp, copied as Linux's do_execveat_common does,
// so that a call with several faults fails as there: both arrays counted
// first (EFAULT), then the pointers checked against the limit (E2BIG),
// then envp's strings and argv's, each from the last to the first.
namespace {

constexpr u64 kMaxArgStrings = 0x7fffffff;
constexpr u64 kMaxArgStrlen = 32 * kPageSize;

// Linux's count(): the pointers before the NULL.
KResult<u64> count_pointers(Thread& t, GuestPages& pages, GuestAddr array)
{
    if (array.null())
        return 0;
    for (u64 i = 0;; i++) {
        if (i >= kMaxArgStrings)
            return err(Errno::TOOBIG);
        if (i % 65536 == 65535 && t.exiting())
            return err(Errno::INTR); // killed meanwhile: the result goes nowhere
        if (!TRY(pages.read_u64(array.value + i * 8)))
            return i;
    }
}

// Linux's copy_strings(): `count` strings, the last first, each taking its
// length and NUL from `room`.
KResult<std::vector<std::string>> copy_strings(GuestPages& pages, GuestAddr array, u64 count, u64& room)
{
    std::vector<std::string> out(count);
    for (u64 i = count; i-- > 0;) {
        u64 ptr = TRY(pages.read_u64(array.value + i * 8));
        auto s = pages.read_string(ptr, kMaxArgStrlen);
        if (!s)
            return err(s.error() == Errno::NAMETOOLONG ? Errno::TOOBIG : s.error());
        if (s->size() + 1 > room)
            return err(Errno::TOOBIG);
        room -= s->size() + 1;
        out[i] = std::move(*s);
    }
    return out;
}

struct ExecArgs {
    std::vector<std::string> argv, envp;
};

KResult<ExecArgs> copy_exec_args(Thread& t, const std::string& filename, GuestAddr argv, GuestAddr envp)
{
    GuestPages pages(t.mm());
    u64 argc = TRY(count_pointers(t, pages, argv));
    u64 envc = TRY(count_pointers(t, pages, envp));
    // Linux's bprm_stack_limits: a quarter of the stack limit, at most
    // three quarters of the default 8 MiB stack, at least ARG_MAX; the
    // pointers (an empty argv counts one) come off it first.
    u64 limit = std::min<u64>(8 * 1024 * 1024 / 4 * 3, t.process().rlimit(RLIMIT_STACK).cur / 4);
    limit = std::max<u64>(limit, kMaxArgStrlen);
    u64 pointers = (std::max<u64>(argc, 1) + envc) * 8;
    if (limit <= pointers || filename.size() + 1 > limit - pointers)
        return err(Errno::TOOBIG);
    u64 room = limit - pointers - (filename.size() + 1);
    ExecArgs args;
    args.envp = TRY(copy_strings(pages, envp, envc, room));
    args.argv = TRY(copy_strings(pages, argv, argc, room));
    return args;
}

} // namespace

KResult<u64> sys_execve(Thread& t, GuestAddr path, GuestAddr argv, GuestAddr envp)
{
    return sys_execveat(t, kAtFdcwd, path, argv, envp, 0);
}

// execveat(2), as Linux's do_execveat_common: the file is found and
// checked first, then the arguments are copied.
KResult<u64> sys_execveat(Thread& t, int dirfd, GuestAddr path, GuestAddr argv, GuestAddr envp, int flags)
{
    auto p = TRY(copy_path(t, path));
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return err(Errno::INVAL);
    bool follow = !(flags & AT_SYMLINK_NOFOLLOW);
    auto dentry = lookup_at(t, dirfd, p, follow ? Follow::Yes : Follow::No, flags & AT_EMPTY_PATH);
    if (!dentry && dentry.error() == Errno::BADF && p.empty() && (flags & AT_EMPTY_PATH) && get_file(t, dirfd))
        return err(Errno::ACCES); // a pipe's or socket's fd: no regular file
    ExecFile file { TRY(std::move(dentry)), p };
    // A symlink: AT_SYMLINK_NOFOLLOW, or the O_PATH|O_NOFOLLOW fd of one
    // (opened with O_NOFOLLOW, as Linux's do_open_execat).
    if (S_ISLNK(TRY(file.dentry->inode().attr()).mode))
        return err(Errno::LOOP);
    TRY(check_executable(t, *file.dentry));
    if (dirfd != kAtFdcwd && !p.starts_with('/')) {
        file.filename = p.empty() ? fmt::format("/dev/fd/{}", dirfd) : fmt::format("/dev/fd/{}/{}", dirfd, p);
        auto entry = t.fds().entry(dirfd);
        file.filename_inaccessible = entry && entry->cloexec;
        file.comm_from_dentry = p.empty();
    }
    auto args = TRY(copy_exec_args(t, file.filename, argv, envp));
    int old_tid = t.tid();
    TRY(do_execve(t, std::move(file), std::move(args.argv), std::move(args.envp)));
    // ptrace: PTRACE_EVENT_EXEC (the message: the tid before), or else a
    // SIGTRAP, as Linux's ptrace_event(PTRACE_EVENT_EXEC).
    if (t.traced()) {
        auto link = t.ptrace_link();
        if (link && (link->options & kPtraceTraceExec))
            t.ptrace_event(kPtraceTraceExec, kPtraceEventExec, static_cast<u64>(old_tid));
        else if (link)
            t.process().send_signal(make_siginfo(kSigTrap, kSiUser), t.tid());
    }
    return 0;
}

} // namespace umk::kernel
