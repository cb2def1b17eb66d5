#include "kernel/fs/procfs/procfs.h"

#include "host/files.h"
#include "kernel/fs/devfs/devfs.h"
#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/ipc/pipe.h"
#include "kernel/kernel.h"

#include <fmt/format.h>

#include <unordered_map>

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

namespace umk::kernel {

namespace {

constexpr u64 kProcDev = 0x16;
std::string g_cpuinfo;
// /sys/devices/system/cpu's ranges ("0-1\n"), from the host at startup.
std::pair<std::string, std::string> g_cpu_ranges[] = { { "online", "" }, { "possible", "" }, { "present", "" } };

using Generator = std::function<KResult<std::string>()>;
// A write to a writable proc file: each write(2) call is one value.
using Writer = std::function<KResult<void>(std::string_view)>;

// A proc file open: a snapshot of its generated text, taken at open when
// opened for reading and again by each later read from offset 0 (Linux's
// seq_file starts over there: a reader that seeks back sees new values);
// writes go to its writer.
class TextFile final : public File {
public:
    TextFile(RefPtr<Inode> inode, int flags, std::string text, Generator generator, Writer writer)
        : File(std::move(inode), flags), m_text(std::move(text)), m_generator(std::move(generator)), m_writer(std::move(writer)) {}
    KResult<usize> read(std::span<u8> out, u64 pos) override
    {
        if (pos == 0 && !std::exchange(m_fresh, false))
            m_text = TRY(m_generator());
        if (pos >= m_text.size())
            return 0;
        usize n = std::min<usize>(out.size(), m_text.size() - pos);
        std::memcpy(out.data(), m_text.data() + pos, n);
        return n;
    }
    KResult<usize> write(std::span<const u8> data, u64) override
    {
        if (!m_writer)
            return err(Errno::BADF);
        TRY(m_writer(std::string_view(reinterpret_cast<const char*>(data.data()), data.size())));
        m_fresh = false;
        return data.size();
    }

private:
    std::string m_text;
    bool m_fresh { true }; // m_text is the open's, not read from 0 yet
    Generator m_generator;
    Writer m_writer;
};

using AttrHook = StaticDir::AttrHook;

// procfs's own inodes: their attributes may be adjusted as StaticDir's
// (the owner of /proc/PID's entries, owned_by_task).
class ProcInode : public Inode {
public:
    void set_attr_hook(AttrHook hook) { m_attr_hook = std::move(hook); }
    bool has_attr_hook() const { return static_cast<bool>(m_attr_hook); }
    // Open to a calling thread `open_to` says yes to, whatever the mode.
    void set_open_to(std::function<bool()> open_to) { m_open_to = std::move(open_to); }
    bool open_to_caller() const override { return m_open_to && m_open_to(); }

protected:
    InodeAttr hooked(InodeAttr a) const
    {
        if (m_attr_hook)
            m_attr_hook(a);
        return a;
    }

private:
    AttrHook m_attr_hook;
    std::function<bool()> m_open_to;
};

class ProcFile final : public ProcInode {
public:
    ProcFile(u64 ino, Generator gen, u32 mode = 0444, Writer writer = {}, u64 dev = kProcDev)
        : m_ino(ino), m_gen(std::move(gen)), m_mode(mode), m_writer(std::move(writer)), m_dev(dev) {}
    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = m_dev;
        a.ino = m_ino;
        a.mode = S_IFREG | m_mode;
        a.size = 0;
        a.blksize = 1024;
        a.atime = a.mtime = a.ctime = now_realtime();
        return hooked(a);
    }
    KResult<RefPtr<File>> open(int flags) override
    {
        int mode = flags & O_ACCMODE;
        if (mode != O_RDONLY && !m_writer)
            return err(Errno::ACCES);
        std::string text = mode == O_WRONLY ? std::string() : TRY(m_gen());
        return RefPtr<File>(
            new TextFile(RefPtr<Inode>(this), flags, std::move(text), m_gen, mode == O_RDONLY ? Writer {} : m_writer));
    }
    // `echo 0 > ...` opens with O_TRUNC.
    KResult<void> truncate(u64) override { return m_writer ? KResult<void>() : err(Errno::ACCES); }
    const void* fs_id() const override { return &kProcDev; }

private:
    u64 m_ino;
    Generator m_gen;
    u32 m_mode;
    Writer m_writer;
    u64 m_dev;
};

// /proc/PID/mem: the process's memory at file offset = address, for
// debuggers. Opened with ptrace's permission; the address space is the
// one the process had at open (Linux's mem_open).
class MemFile final : public File {
public:
    MemFile(RefPtr<Inode> inode, int flags, RefPtr<MemoryManager> mm) : File(std::move(inode), flags), m_mm(std::move(mm)) {}
    KResult<usize> read(std::span<u8> out, u64 pos) override
    {
        // Page by page, as far as the memory is readable.
        usize done = 0;
        while (done < out.size()) {
            u64 at = pos + done;
            usize n = std::min<usize>(out.size() - done, kPageSize - (at & (kPageSize - 1)));
            if (!m_mm->force_read(at, out.subspan(done, n)))
                break;
            done += n;
        }
        if (done == 0 && !out.empty())
            return err(Errno::IO);
        return done;
    }
    KResult<usize> write(std::span<const u8> data, u64 pos) override
    {
        data = data.subspan(0, std::min<usize>(data.size(), kPageSize - (pos & (kPageSize - 1))));
        if (!m_mm->force_write(pos, data))
            return err(Errno::IO);
        return data.size();
    }

private:
    RefPtr<MemoryManager> m_mm;
};

class ProcMem final : public ProcInode {
public:
    ProcMem(Kernel& k, int pid, u64 ino) : m_kernel(k), m_pid(pid), m_ino(ino) {}
    KResult<InodeAttr> attr() override
    {
        if (!m_kernel.find_process(m_pid))
            return err(Errno::SRCH);
        InodeAttr a;
        a.dev = kProcDev;
        a.ino = m_ino;
        a.mode = S_IFREG | 0600;
        a.atime = a.mtime = a.ctime = now_realtime();
        return hooked(a);
    }
    KResult<RefPtr<File>> open(int flags) override
    {
        auto p = m_kernel.find_process(m_pid);
        Thread* t = current_thread();
        if (!p || !t)
            return err(Errno::SRCH);
        // PTRACE_MODE_ATTACH_FSCREDS, or the caller itself.
        if (p.get() != &t->process() && !ptrace_may_access(t->process(), *p, true))
            return err(Errno::ACCES);
        auto mm = p->mm_ref();
        if (!mm)
            return err(Errno::SRCH);
        return RefPtr<File>(new MemFile(RefPtr<Inode>(this), flags, mm));
    }
    const void* fs_id() const override { return &kProcDev; }

private:
    Kernel& m_kernel;
    int m_pid;
    u64 m_ino;
};

using LinkTarget = std::function<KResult<std::string>()>;
using LinkJump = std::function<KResult<RefPtr<Dentry>>()>;

class ProcLink final : public ProcInode {
public:
    ProcLink(u64 ino, LinkTarget target, LinkJump jump = {})
        : m_ino(ino), m_target(std::move(target)), m_jump(std::move(jump)) {}
    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = kProcDev;
        a.ino = m_ino;
        a.mode = S_IFLNK | 0777;
        a.size = 0;
        a.atime = a.mtime = a.ctime = now_realtime();
        return hooked(a);
    }
    KResult<std::string> readlink() override { return m_target(); }
    KResult<RefPtr<Dentry>> jump() override { return m_jump ? m_jump() : RefPtr<Dentry>(); }
    KResult<RefPtr<File>> open(int) override { return err(Errno::LOOP); }
    const void* fs_id() const override { return &kProcDev; }

private:
    u64 m_ino;
    LinkTarget m_target;
    LinkJump m_jump;
};

// A path as the reading process sees it (its chroot).
std::string reader_path(const Dentry& d)
{
    Thread* t = current_thread();
    return t ? d.path_within(t->process().fs().root.get()) : d.path();
}

// Following another process's magic links needs ptrace's read access
// (Linux's proc_fd_access_allowed).
KResult<void> may_follow(Process& p)
{
    Thread* t = current_thread();
    if (t && &t->process() != &p && !ptrace_may_access(t->process(), p, true))
        return err(Errno::ACCES);
    return {};
}

// The calling thread belongs to process `pid`.
bool caller_in(int pid)
{
    Thread* t = current_thread();
    return t && t->process().pid() == pid;
}

// The name a write to a comm file sets (Linux's comm_write): its first
// 15 bytes, up to a NUL (a newline stays).
std::string_view written_comm(std::string_view text)
{
    text = text.substr(0, 15);
    return text.substr(0, text.find('\0'));
}

// A directory whose entries are computed on every lookup/list.
class DynamicDir final : public ProcInode {
public:
    using Lister = std::function<std::vector<std::string>()>;
    using Looker = std::function<KResult<RefPtr<Inode>>(std::string_view)>;
    DynamicDir(u64 ino, Lister list, Looker lookup, u32 mode = 0555)
        : m_ino(ino), m_list(std::move(list)), m_lookup(std::move(lookup)), m_mode(mode) {}
    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = kProcDev;
        a.ino = m_ino;
        a.mode = S_IFDIR | m_mode;
        a.nlink = 2;
        a.atime = a.mtime = a.ctime = now_realtime();
        return hooked(a);
    }
    // Who may look inside, whatever the mode (Linux's permission hooks).
    void set_gate(std::function<KResult<void>()> gate) { m_gate = std::move(gate); }
    KResult<RefPtr<Inode>> lookup(std::string_view name) override
    {
        if (m_gate)
            TRY(m_gate());
        return m_lookup(name);
    }
    KResult<std::vector<DirEntry>> list() override
    {
        std::vector<DirEntry> out;
        for (auto& name : m_list()) {
            auto inode = m_lookup(name);
            if (!inode)
                continue;
            auto a = (*inode)->attr();
            out.push_back({ name, a ? a->ino : 0, a ? dirent_type(a->mode) : u8 { 0 } });
        }
        return out;
    }
    KResult<RefPtr<File>> open(int flags) override
    {
        if (m_gate)
            TRY(m_gate());
        return RefPtr<File>(new DirectoryFile(RefPtr<Inode>(this), flags));
    }
    const void* fs_id() const override { return &kProcDev; }

private:
    std::function<KResult<void>()> m_gate;
    u64 m_ino;
    Lister m_list;
    Looker m_lookup;
    u32 m_mode;
};

std::optional<int> parse_int(std::string_view s)
{
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0)
        return std::nullopt;
    return v;
}

u64 pid_ino(int pid, int slot) { return (static_cast<u64>(pid) << 16) | static_cast<u64>(slot); }

KResult<std::string> read_guest_range(Process& p, u64 start, u64 end)
{
    if (end <= start)
        return std::string();
    std::string out(std::min<u64>(end - start, 1 << 20), '\0');
    auto mm = p.mm_ref();
    if (!mm)
        return err(Errno::SRCH);
    TRY(mm->copy_in(start, std::span(reinterpret_cast<u8*>(out.data()), out.size())));
    return out;
}

// The process state letter of stat and status (Linux's task_state_array).
char state_of(Kernel& k, Process& p)
{
    {
        std::lock_guard tree(k.tree_lock());
        if (p.zombie_locked())
            return 'Z';
    }
    {
        std::lock_guard lock(p.signal_lock());
        if (p.stopped_locked())
            return 'T';
    }
    Thread* self = current_thread();
    return self && &self->process() == &p ? 'R' : 'S';
}

// The name of thread `tid` of `p` (the process's for its leader), as
// /proc/PID/task/TID shows it; nullopt when it is gone.
std::optional<std::string> thread_comm(Process& p, int tid)
{
    std::lock_guard lock(p.signal_lock());
    Thread* thread = p.find_thread_locked(tid);
    if (!thread)
        return tid == p.pid() ? std::optional(p.comm()) : std::nullopt;
    return thread->comm();
}

// status's Name line, as Linux's proc_task_name escapes it: a name
// cannot start a line of its own (a forged "Uid:").
std::string escaped_name(const std::string& name)
{
    std::string out;
    for (char c : name) {
        if (c == '\n')
            out += "\\n";
        else if (c == '\\')
            out += "\\\\";
        else
            out += c;
    }
    return out;
}

// /proc/PID/status, or /proc/PID/task/TID/status for `tid` (its name and
// Pid; the rest is the process's here).
std::string status_text(Kernel& k, Process& p, int tid)
{
    auto c = p.creds();
    auto mm = p.mm_ref();
    u64 vm_kb = mm ? mm->total_vm() / 1024 : 0;
    std::string groups;
    for (u32 g : c.groups)
        groups += fmt::format("{} ", g);
    // The signal sets and seccomp state of the first thread, as Linux
    // shows the thread group leader's.
    u64 pending = 0, shared = 0, blocked = 0, ignored = 0, caught = 0;
    bool no_new_privs = false;
    int seccomp = 0, tracer = 0;
    std::shared_ptr<PtraceLink> link;
    {
        std::lock_guard lock(p.signal_lock());
        shared = p.shared_pending_locked().pending();
        for (int signo = 1; signo <= kSigMax; signo++) {
            u64 handler = p.sigaction_locked(signo).handler;
            if (handler == reinterpret_cast<u64>(SIG_IGN))
                ignored |= sigbit(signo);
            else if (handler != reinterpret_cast<u64>(SIG_DFL))
                caught |= sigbit(signo);
        }
        auto ids = p.thread_ids_locked();
        if (Thread* t = ids.empty() ? nullptr : p.find_thread_locked(ids.front())) {
            pending = t->pending_locked().pending();
            blocked = t->signal_mask;
            no_new_privs = t->no_new_privs;
            seccomp = t->seccomp_mode;
            link = t->ptrace_link_locked();
        }
    }
    if (link) {
        std::lock_guard tree(k.tree_lock()); // guards the link's tracer
        tracer = link->tracer ? link->tracer->pid() : 0;
    }
    char state = state_of(k, p);
    const char* state_name = state == 'Z' ? "Z (zombie)" : state == 'T' ? "T (stopped)" : state == 'R' ? "R (running)" : "S (sleeping)";
    return fmt::format("Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\n"
                       "TracerPid:\t{}\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t64\nGroups:\t{}\n"
                       "VmSize:\t{:8} kB\nThreads:\t{}\nSigQ:\t0/0\nSigPnd:\t{:016x}\n"
                       "ShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\n"
                       "SigCgt:\t{:016x}\nCapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\n"
                       "CapBnd:\t{:016x}\nCapAmb:\t{:016x}\nNoNewPrivs:\t{}\nSeccomp:\t{}\n"
                       "Cpus_allowed_list:\t0-{}\n",
                       escaped_name(thread_comm(p, tid).value_or(p.comm())), p.fs().umask, state_name, p.pid(), tid, p.ppid(), tracer, c.uid, c.euid, c.suid,
                       c.fsuid, c.gid, c.egid, c.sgid, c.fsgid, groups, vm_kb, p.thread_count(), pending, shared,
                       blocked, ignored, caught, c.cap_inheritable, c.cap_permitted, c.cap_effective, c.cap_bounding,
                       c.cap_ambient, no_new_privs ? 1 : 0, seccomp, sysconf(_SC_NPROCESSORS_ONLN) - 1);
}

// proc(5)'s /proc/PID/stat: 52 fields; addresses a reader may not see
// are 0, as Linux shows them to other users.
// As status_text: the first two fields are the thread's for `tid`.
std::string stat_text(Kernel& k, Process& p, int tid)
{
    int ppid, pgrp, sid;
    {
        std::lock_guard tree(k.tree_lock());
        Process* parent = p.parent_locked();
        ppid = parent ? parent->pid() : 0;
        pgrp = p.pgid_locked();
        sid = p.sid_locked();
    }
    char state = state_of(k, p);
    auto ticks = [](u64 ns) { return ns / 10000000; };
    auto usage = p.cpu_usage();
    auto children = p.children_usage();
    u64 vsize = p.mm_ref() ? p.mm_ref()->total_vm() : 0;
    auto start = std::chrono::duration_cast<std::chrono::milliseconds>(p.start_time - k.boot_steady()).count() / 10;
    return fmt::format("{} ({}) {} {} {} {} 0 -1 4194560 0 0 0 0 {} {} {} {} {} {} {} 0 {} {} {} {} 0 0 0 0 0 0 0 0 0 0 0 0 0 {} 0 0 0 0 0 0 0 0 0 0 0 0 {}\n",
                       tid, thread_comm(p, tid).value_or(p.comm()), state, ppid, pgrp, sid, ticks(usage.user_ns), ticks(usage.system_ns),
                       ticks(children.user_ns), ticks(children.system_ns), 20 + p.nice.load(), p.nice.load(),
                       p.thread_count(), start, vsize, 0, p.rlimit(RLIMIT_RSS).cur, p.exit_signal(),
                       p.exit_status().value_or(0));
}

// The open fds of process `pid`, for fd/ and fdinfo/.
std::vector<std::string> fd_names(Kernel& k, int pid)
{
    std::vector<std::string> names;
    if (auto p = k.find_process(pid))
        for (auto& [fd, e] : p->fds().snapshot())
            names.push_back(std::to_string(fd));
    return names;
}

// Who owns /proc/PID's entries (Linux's task_dump_owner): the process's
// effective ids, or root when it is not dumpable; the world-readable
// directories (PID and task/TID, mode 0555) always show its ids, which
// ps takes from them.
AttrHook owned_by_task(Kernel& k, int pid, bool always_its_ids)
{
    return [&k, pid, always_its_ids](InodeAttr& a) {
        auto p = k.find_process(pid);
        if (!p || !(always_its_ids || p->dumpable))
            return;
        auto c = p->creds();
        a.uid = c.euid;
        a.gid = c.egid;
    };
}

template <class T>
RefPtr<T> owned(RefPtr<T> inode, Kernel& k, int pid)
{
    inode->set_attr_hook(owned_by_task(k, pid, false));
    return inode;
}

RefPtr<Inode> make_fd_dir(Kernel& k, int pid)
{
    auto list = [&k, pid] { return fd_names(k, pid); };
    auto lookup = [&k, pid](std::string_view name) -> KResult<RefPtr<Inode>> {
        auto fd = parse_int(name);
        auto p = k.find_process(pid);
        if (!fd || !p)
            return err(Errno::NOENT);
        if (!p->fds().get(*fd))
            return err(Errno::NOENT);
        // The file is looked up at each use, never held: a cached dentry
        // must not keep a pipe's end open (Linux revalidates these too).
        auto file_of = [&k, pid, n = *fd]() -> KResult<RefPtr<File>> {
            auto owner = k.find_process(pid);
            if (!owner)
                return err(Errno::NOENT);
            auto found = owner->fds().get(n);
            if (!found)
                return err(Errno::NOENT);
            return std::move(*found);
        };
        auto target = [&k, pid, file_of]() -> KResult<std::string> {
            auto owner = k.find_process(pid);
            if (!owner)
                return err(Errno::NOENT);
            TRY(may_follow(*owner));
            auto file = TRY(file_of());
            if (auto d = file->dentry())
                return reader_path(*d);
            if (auto anon = file->inode().anon_name())
                return fmt::format("anon_inode:[{}]", *anon);
            auto a = TRY(file->inode().attr());
            if (S_ISFIFO(a.mode))
                return fmt::format("pipe:[{}]", a.ino);
            if (S_ISSOCK(a.mode))
                return fmt::format("socket:[{}]", a.ino);
            return fmt::format("anon_inode:[{}]", a.ino);
        };
        // The open file itself: its dentry (a deleted file's too), or its
        // inode alone (a pipe opens again as a FIFO; a socket is ENXIO).
        auto jump = [&k, pid, file_of, target]() -> KResult<RefPtr<Dentry>> {
            auto owner = k.find_process(pid);
            if (!owner)
                return err(Errno::NOENT);
            TRY(may_follow(*owner));
            auto file = TRY(file_of());
            if (auto d = file->dentry())
                return d;
            return Dentry::make_detached(file->inode_ref(), TRY(target()));
        };
        return RefPtr<Inode>(owned(make_ref<ProcLink>(pid_ino(pid, 0x1000 + *fd), target, jump), k, pid));
    };
    auto dir = owned(make_ref<DynamicDir>(pid_ino(pid, 2), list, lookup, 0500), k, pid);
    // Linux's proc_fd_permission: a process may always look at its own.
    dir->set_open_to([pid] { return caller_in(pid); });
    return RefPtr<Inode>(dir);
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.remove_suffix(1);
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    return s;
}

// Linux's proc_pid_limits, in its order and format.
std::string limits_text(Process& p)
{
    static constexpr struct {
        const char* name;
        const char* unit;
    } kLimits[] = {
        { "Max cpu time", "seconds" }, { "Max file size", "bytes" }, { "Max data size", "bytes" },
        { "Max stack size", "bytes" }, { "Max core file size", "bytes" }, { "Max resident set", "bytes" },
        { "Max processes", "processes" }, { "Max open files", "files" }, { "Max locked memory", "bytes" },
        { "Max address space", "bytes" }, { "Max file locks", "locks" }, { "Max pending signals", "signals" },
        { "Max msgqueue size", "bytes" }, { "Max nice priority", nullptr }, { "Max realtime priority", nullptr },
        { "Max realtime timeout", "us" },
    };
    auto value = [](u64 v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
    std::string out = fmt::format("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for (int i = 0; i < 16; i++) {
        auto r = p.rlimit(i);
        out += fmt::format("{:<25} {:<20} {:<20} ", kLimits[i].name, value(r.cur), value(r.max));
        if (kLimits[i].unit)
            out += fmt::format("{:<10}", kLimits[i].unit);
        out += '\n';
    }
    return out;
}

std::string mounts_text(Kernel& k)
{
    std::string out;
    for (auto& m : k.mounts())
        out += fmt::format("{} {} {} {} 0 0\n", m.source, m.path, m.fstype, m.options());
    return out;
}

// ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS - TYPE SOURCE SUPEROPTIONS
std::string mountinfo_text(Kernel& k)
{
    auto mounts = k.mounts();
    std::unordered_map<const Dentry*, usize> index;
    for (usize i = 0; i < mounts.size(); i++)
        index.emplace(mounts[i].root.get(), i);
    std::string out;
    for (usize i = 0; i < mounts.size(); i++) {
        auto& m = mounts[i];
        // The parent: the mount its mount point is in (itself for the root).
        usize parent = i;
        if (const Dentry* at = m.root->mountpoint())
            if (auto it = index.find(at->mount_root()); it != index.end())
                parent = it->second;
        u64 dev = 0;
        if (auto a = m.root->inode().attr())
            dev = a->dev;
        // This mount's own flags, then the file system's.
        u32 flags = m.root->mount_flags();
        out += fmt::format("{} {} {}:{} {} {} {} - {} {} {}{}\n", 21 + i, 21 + parent, major(dev), minor(dev), m.fs_root,
                           m.path, mount_options_text(flags & ~kSuperReadOnly), m.fstype, m.source,
                           (flags & kSuperReadOnly) ? "ro" : "rw", m.fs_options);
    }
    return out;
}

RefPtr<Inode> make_fdinfo_dir(Kernel& k, int pid)
{
    auto list = [&k, pid] { return fd_names(k, pid); };
    auto lookup = [&k, pid](std::string_view name) -> KResult<RefPtr<Inode>> {
        auto fd = parse_int(name);
        auto p = k.find_process(pid);
        if (!fd || !p || !p->fds().get(*fd))
            return err(Errno::NOENT);
        return RefPtr<Inode>(owned(make_ref<ProcFile>(pid_ino(pid, 0x100000 + *fd), [&k, pid, n = *fd]() -> KResult<std::string> {
            auto owner = k.find_process(pid);
            if (!owner)
                return err(Errno::NOENT);
            auto entry = owner->fds().entry(n);
            if (!entry)
                return err(Errno::NOENT);
            auto& file = *entry->file;
            u64 pos;
            {
                std::lock_guard lock(file.position_lock());
                pos = file.position_locked();
            }
            auto a = file.inode().attr();
            int flags = file.flags() | (entry->cloexec ? O_CLOEXEC : 0);
            return fmt::format("pos:\t{}\nflags:\t0{:o}\nmnt_id:\t21\nino:\t{}\n", pos, flags, a ? a->ino : 0);
        }, 0444), k, pid));
    };
    // World-readable, but only for those with ptrace's read access
    // (Linux's proc_fdinfo_permission).
    auto dir = make_ref<DynamicDir>(pid_ino(pid, 25), list, lookup, 0555);
    dir->set_attr_hook(owned_by_task(k, pid, true));
    dir->set_gate([&k, pid]() -> KResult<void> {
        auto p = k.find_process(pid);
        if (!p)
            return err(Errno::NOENT);
        return may_follow(*p);
    });
    return RefPtr<Inode>(dir);
}

// task/TID's own files: its name (comm, which its process's threads may
// always open: Linux's proc_tid_comm_permission), and the stat and
// status that show it.
void add_thread_files(Kernel& k, int pid, int tid, StaticDir& dir)
{
    auto of_thread = [&k, pid, tid](auto f) {
        return [&k, pid, tid, f]() -> KResult<std::string> {
            auto p = k.find_process(pid);
            if (!p)
                return err(Errno::SRCH);
            return f(*p, tid);
        };
    };
    auto comm = make_ref<ProcFile>(pid_ino(tid, 40), of_thread([](Process& p, int id) -> KResult<std::string> {
        auto name = thread_comm(p, id);
        if (!name)
            return err(Errno::SRCH);
        return *name + "\n";
    }), 0644, [&k, pid, tid](std::string_view text) -> KResult<void> {
        auto p = k.find_process(pid);
        if (!p || !caller_in(pid))
            return err(Errno::INVAL); // Linux's comm_write: only within the thread group
        auto name = written_comm(text);
        std::lock_guard lock(p->signal_lock());
        Thread* thread = p->find_thread_locked(tid);
        if (thread)
            thread->set_comm(name);
        else if (tid == p->pid())
            p->set_comm(name); // an exited leader's name is the process's
        else
            return err(Errno::SRCH);
        return {};
    });
    comm->set_open_to([pid] { return caller_in(pid); });
    dir.add("comm", owned(comm, k, pid));
    dir.add("stat", owned(make_ref<ProcFile>(pid_ino(tid, 41), of_thread([&k](Process& p, int id) -> KResult<std::string> {
        return stat_text(k, p, id);
    })), k, pid));
    dir.add("status", owned(make_ref<ProcFile>(pid_ino(tid, 42), of_thread([&k](Process& p, int id) -> KResult<std::string> {
        return status_text(k, p, id);
    })), k, pid));
}

RefPtr<Inode> make_pid_dir(Kernel& k, int pid)
{
    auto dir = make_ref<StaticDir>(kProcDev, pid_ino(pid, 1), S_IFDIR | 0555);
    auto with = [&k, pid](auto f) {
        return [&k, pid, f]() -> KResult<std::string> {
            auto p = k.find_process(pid);
            if (!p)
                return err(Errno::SRCH);
            return f(*p);
        };
    };
    // What shows another process's memory, layout or files also needs
    // ptrace's read access (Linux's mm_access, proc_fd_access_allowed).
    auto with_access = [&k, pid](auto f) {
        return [&k, pid, f]() -> KResult<std::string> {
            auto p = k.find_process(pid);
            if (!p)
                return err(Errno::SRCH);
            TRY(may_follow(*p));
            return f(*p);
        };
    };
    auto jump_with = [&k, pid](auto f) {
        return [&k, pid, f]() -> KResult<RefPtr<Dentry>> {
            auto p = k.find_process(pid);
            if (!p)
                return err(Errno::NOENT);
            TRY(may_follow(*p));
            return f(*p);
        };
    };
    auto exe_of = [](Process& p) -> KResult<RefPtr<Dentry>> {
        auto exe = p.exe();
        if (!exe)
            return err(Errno::NOENT);
        return exe;
    };
    dir->add("exe", make_ref<ProcLink>(pid_ino(pid, 3), with_access([exe_of](Process& p) -> KResult<std::string> {
        return reader_path(*TRY(exe_of(p)));
    }), jump_with(exe_of)));
    dir->add("cwd", make_ref<ProcLink>(pid_ino(pid, 4), with_access([](Process& p) -> KResult<std::string> { return reader_path(*p.fs().cwd); }),
                                       jump_with([](Process& p) -> KResult<RefPtr<Dentry>> { return p.fs().cwd; })));
    dir->add("root", make_ref<ProcLink>(pid_ino(pid, 5), with_access([](Process& p) -> KResult<std::string> { return reader_path(*p.fs().root); }),
                                        jump_with([](Process& p) -> KResult<RefPtr<Dentry>> { return p.fs().root; })));
    dir->add("fd", make_fd_dir(k, pid));
    dir->add("maps", make_ref<ProcFile>(pid_ino(pid, 6), with_access([](Process& p) -> KResult<std::string> {
        auto mm = p.mm_ref();
        if (!mm)
            return std::string();
        return mm->maps_text();
    })));
    dir->add("status", make_ref<ProcFile>(pid_ino(pid, 7), with([&k](Process& p) -> KResult<std::string> { return status_text(k, p, p.pid()); })));
    dir->add("cmdline", make_ref<ProcFile>(pid_ino(pid, 8), with([](Process& p) { return read_guest_range(p, p.arg_start, p.arg_end); })));
    dir->add("environ", make_ref<ProcFile>(pid_ino(pid, 9), with_access([](Process& p) { return read_guest_range(p, p.env_start, p.env_end); }), 0400));
    dir->add("auxv", make_ref<ProcFile>(pid_ino(pid, 11), with_access([](Process& p) -> KResult<std::string> {
        return std::string(p.saved_auxv.begin(), p.saved_auxv.end());
    }), 0400));
    dir->add("mem", make_ref<ProcMem>(k, pid, pid_ino(pid, 12)));
    dir->add("stat", make_ref<ProcFile>(pid_ino(pid, 13), with([&k](Process& p) -> KResult<std::string> { return stat_text(k, p, p.pid()); })));
    auto comm_generator = with([](Process& p) -> KResult<std::string> { return p.comm() + "\n"; });
    Writer comm_writer = [&k, pid](std::string_view text) -> KResult<void> {
        // Linux's comm_write: only into the writer's own process.
        auto p = k.find_process(pid);
        if (!p)
            return err(Errno::SRCH);
        if (!caller_in(pid))
            return err(Errno::INVAL);
        p->set_comm(written_comm(text));
        return {};
    };
    dir->add("comm", make_ref<ProcFile>(pid_ino(pid, 10), comm_generator, 0644, comm_writer));
    dir->add("statm", make_ref<ProcFile>(pid_ino(pid, 16), with([](Process& p) -> KResult<std::string> {
        // size resident shared text lib data dt, in pages (the resident
        // figures are the stub host process's)
        auto mm = p.mm_ref();
        u64 size = mm ? mm->total_vm() / kPageSize : 0;
        auto resident = mm ? mm->address_space().resident() : std::nullopt;
        return fmt::format("{} {} {} 0 0 0 0\n", size, resident ? resident->pages : 0, resident ? resident->shared_pages : 0);
    })));
    dir->add("limits", make_ref<ProcFile>(pid_ino(pid, 17), with([](Process& p) -> KResult<std::string> { return limits_text(p); })));
    dir->add("cgroup", make_ref<ProcFile>(pid_ino(pid, 18), with([](Process&) -> KResult<std::string> {
        return std::string("0::/\n"); // one cgroup v2 hierarchy, everyone at its root
    })));
    dir->add("oom_score_adj", make_ref<ProcFile>(pid_ino(pid, 19), with([](Process& p) -> KResult<std::string> {
        return fmt::format("{}\n", p.oom_score_adj.load());
    }), 0644, [&k, pid](std::string_view text) -> KResult<void> {
        auto p = k.find_process(pid);
        if (!p)
            return err(Errno::SRCH);
        // kstrtoint: a sign, decimal digits.
        auto number = trim(text);
        if (number.starts_with('+'))
            number.remove_prefix(1);
        int value = 0;
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
        if (number.empty() || ec != std::errc() || end != number.data() + number.size() || value < -1000 || value > 1000)
            return err(Errno::INVAL);
        // Linux's __set_oom_adj: below the lowest a privileged writer set
        // takes CAP_SYS_RESOURCE, and such a writer sets that lowest.
        Thread* t = current_thread();
        bool privileged = !t || t->process().creds().has(kCapSysResource);
        if (value < p->oom_score_adj_min.load() && !privileged)
            return err(Errno::ACCES);
        p->oom_score_adj = value;
        if (privileged)
            p->oom_score_adj_min = value;
        return {};
    }));
    dir->add("uid_map", make_ref<ProcFile>(pid_ino(pid, 20), with([](Process&) -> KResult<std::string> {
        return std::string("         0          0 4294967295\n"); // the guest's initial user namespace
    })));
    dir->add("gid_map", make_ref<ProcFile>(pid_ino(pid, 21), with([](Process&) -> KResult<std::string> {
        return std::string("         0          0 4294967295\n");
    })));
    dir->add("setgroups", make_ref<ProcFile>(pid_ino(pid, 22), with([](Process&) -> KResult<std::string> { return std::string("allow\n"); })));
    dir->add("mounts", make_ref<ProcFile>(pid_ino(pid, 23), with([&k](Process&) -> KResult<std::string> { return mounts_text(k); })));
    dir->add("mountinfo", make_ref<ProcFile>(pid_ino(pid, 24), with([&k](Process&) -> KResult<std::string> { return mountinfo_text(k); })));
    dir->add("fdinfo", make_fdinfo_dir(k, pid));
    dir->add("smaps_rollup", make_ref<ProcFile>(pid_ino(pid, 26), with_access([](Process& p) -> KResult<std::string> {
        auto mm = p.mm_ref();
        return mm ? mm->smaps_rollup_text() : std::string();
    })));
    // Namespaces: one of each per guest (setns is not there to use them).
    auto ns = make_ref<StaticDir>(kProcDev, pid_ino(pid, 27), S_IFDIR | 0511);
    static constexpr std::pair<const char*, u64> kNamespaces[] = {
        { "cgroup", 4026531835 }, { "ipc", 4026531839 }, { "mnt", 4026531841 }, { "net", 4026531840 },
        { "pid", 4026531836 }, { "pid_for_children", 4026531836 }, { "time", 4026531834 },
        { "time_for_children", 4026531834 }, { "user", 4026531837 }, { "uts", 4026531838 },
    };
    u64 ns_ino = 0;
    for (auto [name, id] : kNamespaces) {
        std::string kind = std::string(name).substr(0, std::string(name).find('_'));
        ns->add(name, make_ref<ProcLink>(pid_ino(pid, 28 + ns_ino++), [kind, id]() -> KResult<std::string> {
            return fmt::format("{}:[{}]", kind, id);
        }));
    }
    dir->add("ns", ns);
    // task/TID: each thread shows its process's files (debuggers open
    // task/TID/mem and maps; per-thread state is the process's here).
    auto task_list = [&k, pid] {
        std::vector<std::string> names;
        if (auto p = k.find_process(pid)) {
            std::lock_guard lock(p->signal_lock());
            for (int tid : p->thread_ids_locked())
                names.push_back(std::to_string(tid));
        }
        return names;
    };
    RefPtr<StaticDir> shared = dir;
    auto task_lookup = [&k, pid, shared](std::string_view name) -> KResult<RefPtr<Inode>> {
        auto tid = parse_int(name);
        auto p = k.find_process(pid);
        if (!tid || !p)
            return err(Errno::NOENT);
        {
            std::lock_guard lock(p->signal_lock());
            if (!p->find_thread_locked(*tid))
                return err(Errno::NOENT);
        }
        auto thread_dir = make_ref<StaticDir>(kProcDev, pid_ino(*tid, 14), S_IFDIR | 0555);
        thread_dir->set_attr_hook(owned_by_task(k, pid, true));
        for (auto& e : TRY(shared->list()))
            thread_dir->add(e.name, TRY(shared->lookup(e.name)));
        add_thread_files(k, pid, *tid, *thread_dir);
        return RefPtr<Inode>(thread_dir);
    };
    auto task = make_ref<DynamicDir>(pid_ino(pid, 15), task_list, task_lookup);
    task->set_attr_hook(owned_by_task(k, pid, true));
    dir->add("task", task);
    // Everything else it holds (fd, fdinfo and task own themselves, and
    // their entries as they are looked up).
    dir->set_attr_hook(owned_by_task(k, pid, true));
    ns->set_attr_hook(owned_by_task(k, pid, false));
    for (StaticDir* d : { dir.get(), ns.get() }) {
        auto entries = d->list();
        for (auto& e : entries ? *entries : std::vector<DirEntry> {}) {
            auto entry = d->lookup(e.name);
            auto* inode = entry ? dynamic_cast<ProcInode*>(entry->get()) : nullptr;
            if (inode && !inode->has_attr_hook())
                inode->set_attr_hook(owned_by_task(k, pid, false));
        }
    }
    return RefPtr<Inode>(dir);
}

std::string meminfo_text()
{
    struct sysinfo si {};
    sysinfo(&si);
    auto kb = [&](u64 v) { return v * si.mem_unit / 1024; };
    return fmt::format("MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\n"
                       "Buffers:        {:8} kB\nCached:         {:8} kB\nSwapCached:            0 kB\n"
                       "SwapTotal:      {:8} kB\nSwapFree:       {:8} kB\nShmem:          {:8} kB\n",
                       kb(si.totalram), kb(si.freeram), kb(si.freeram + si.bufferram), kb(si.bufferram), 0,
                       kb(si.totalswap), kb(si.freeswap), kb(si.sharedram));
}

// /proc/stat: the host's CPU lines (the guest runs on its CPUs), the
// guest's boot time and task counts.
std::string stat_all_text(Kernel& k)
{
    std::string out;
    if (auto host = host::read_proc_file("stat")) {
        usize at = 0;
        while (at < host->size()) {
            usize end = host->find('\n', at);
            if (end == std::string::npos)
                end = host->size();
            std::string_view line(host->data() + at, end - at);
            if (line.starts_with("cpu"))
                out += std::string(line) + "\n";
            at = end + 1;
        }
    }
    timespec now {}, mono {};
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    i64 btime = now.tv_sec - (mono.tv_sec - k.boot_time().sec);
    out += fmt::format("intr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\nsoftirq 0\n", btime,
                       k.last_pid());
    return out;
}

// /proc/sys: what programs read to learn about the kernel (read-only).
RefPtr<Inode> make_sysctl_dir(Kernel& k)
{
    u64 ino = 0x200;
    auto value = [&ino](std::function<std::string()> f) {
        return make_ref<ProcFile>(ino++, [f]() -> KResult<std::string> { return f() + "\n"; });
    };
    auto fixed = [&value](std::string v) { return value([v] { return v; }); };
    auto uuid = [] {
        u8 b[16];
        while (getrandom(b, sizeof b, 0) != sizeof b) {
        }
        b[6] = static_cast<u8>((b[6] & 0x0f) | 0x40);
        b[8] = static_cast<u8>((b[8] & 0x3f) | 0x80);
        return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    };
    auto random = make_ref<StaticDir>(kProcDev, ino++, S_IFDIR | 0555);
    random->add("uuid", value(uuid));
    random->add("boot_id", fixed(uuid()));
    random->add("entropy_avail", fixed("256"));
    random->add("poolsize", fixed("256"));
    auto kernel = make_ref<StaticDir>(kProcDev, ino++, S_IFDIR | 0555);
    kernel->add("hostname", value([&k] { return k.hostname(); }));
    kernel->add("domainname", value([&k] { return k.domainname(); }));
    kernel->add("osrelease", fixed(k.options().kernel_release));
    kernel->add("ostype", fixed("Linux"));
    kernel->add("version", fixed(k.options().kernel_version));
    kernel->add("pid_max", fixed("4194304"));
    kernel->add("threads-max", fixed(std::to_string(k.options().pids_max)));
    kernel->add("cap_last_cap", fixed("40"));
    kernel->add("ngroups_max", fixed("65536"));
    kernel->add("overflowuid", fixed("65534"));
    kernel->add("overflowgid", fixed("65534"));
    kernel->add("random", random);
    auto fs = make_ref<StaticDir>(kProcDev, ino++, S_IFDIR | 0555);
    fs->add("file-max", fixed("9223372036854775807"));
    fs->add("nr_open", fixed("1048576"));
    fs->add("pipe-max-size", fixed(std::to_string(kPipeMaxSize)));
    auto vm = make_ref<StaticDir>(kProcDev, ino++, S_IFDIR | 0555);
    vm->add("overcommit_memory", fixed("0"));
    vm->add("max_map_count", fixed("65530"));
    auto sys = make_ref<StaticDir>(kProcDev, ino++, S_IFDIR | 0555);
    sys->add("kernel", kernel);
    sys->add("fs", fs);
    sys->add("vm", vm);
    return RefPtr<Inode>(sys);
}

} // namespace

void capture_host_info()
{
    auto read = [](const char* path) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    g_cpuinfo = read("/proc/cpuinfo");
    for (auto& [name, text] : g_cpu_ranges)
        text = read(("/sys/devices/system/cpu/" + name).c_str());
}

RefPtr<Inode> make_sysfs()
{
    constexpr u64 kSysDev = 0x17;
    u64 ino = 1;
    auto dir = [&] { return make_ref<StaticDir>(kSysDev, ino++, S_IFDIR | 0755); };
    auto cpu = dir();
    for (auto& [name, text] : g_cpu_ranges) {
        std::string value = text.empty() ? "0\n" : text;
        cpu->add(name, make_ref<ProcFile>(ino++, [value]() -> KResult<std::string> { return value; }, 0444, Writer {}, kSysDev));
    }
    auto system = dir();
    system->add("cpu", cpu);
    auto devices = dir();
    devices->add("system", system);
    auto fs = dir();
    fs->add("cgroup", dir());
    auto root = dir();
    root->add("devices", devices);
    root->add("fs", fs);
    for (const char* empty : { "block", "bus", "class", "dev", "firmware", "kernel", "module", "power" })
        root->add(empty, dir());
    return RefPtr<Inode>(root);
}

RefPtr<Inode> make_procfs(Kernel& k)
{
    auto text = [](std::function<std::string()> f) { return [f]() -> KResult<std::string> { return f(); }; };
    auto fixed = make_ref<StaticDir>(kProcDev, 1);
    fixed->add("cpuinfo", make_ref<ProcFile>(10, text([] { return g_cpuinfo; })));
    fixed->add("meminfo", make_ref<ProcFile>(11, text(meminfo_text)));
    fixed->add("version", make_ref<ProcFile>(12, text([&k] {
        return fmt::format("Linux version {} (umk@umk) (umk) {}\n", k.options().kernel_release, k.options().kernel_version);
    })));
    fixed->add("uptime", make_ref<ProcFile>(13, text([&k] {
        timespec now {};
        clock_gettime(CLOCK_MONOTONIC, &now);
        double up = static_cast<double>(now.tv_sec - k.boot_time().sec) + (now.tv_nsec - k.boot_time().nsec) / 1e9;
        return fmt::format("{:.2f} {:.2f}\n", up, up);
    })));
    fixed->add("stat", make_ref<ProcFile>(15, text([&k] { return stat_all_text(k); })));
    fixed->add("loadavg", make_ref<ProcFile>(16, text([&k] {
        // The host's load (it is what the guest's CPUs carry), the
        // guest's tasks and last pid.
        auto host = host::read_proc_file("loadavg");
        double l1 = 0, l5 = 0, l15 = 0;
        if (host)
            std::sscanf(host->c_str(), "%lf %lf %lf", &l1, &l5, &l15);
        usize threads = 0;
        for (auto& p : k.processes())
            threads += p->thread_count();
        return fmt::format("{:.2f} {:.2f} {:.2f} 1/{} {}\n", l1, l5, l15, threads, k.last_pid());
    })));
    fixed->add("filesystems", make_ref<ProcFile>(17, text([] {
        return std::string("nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\toverlay\nnodev\thostfs\n");
    })));
    fixed->add("mounts", make_ref<ProcLink>(18, []() -> KResult<std::string> { return std::string("self/mounts"); }));
    fixed->add("sys", make_sysctl_dir(k));
    fixed->add("self", make_ref<ProcLink>(14, []() -> KResult<std::string> {
        Thread* t = current_thread();
        if (!t)
            return err(Errno::NOENT);
        return std::to_string(t->process().pid());
    }));
    fixed->add("thread-self", make_ref<ProcLink>(19, []() -> KResult<std::string> {
        Thread* t = current_thread();
        if (!t)
            return err(Errno::NOENT);
        return fmt::format("{}/task/{}", t->process().pid(), t->tid());
    }));
    auto list = [&k, fixed] {
        std::vector<std::string> names;
        // Not `for (e : fixed->list().value())`: the range would refer
        // into a temporary that is gone before the loop runs.
        auto entries = fixed->list().value();
        for (auto& e : entries)
            names.push_back(e.name);
        for (int pid : k.pids())
            names.push_back(std::to_string(pid));
        return names;
    };
    auto lookup = [&k, fixed](std::string_view name) -> KResult<RefPtr<Inode>> {
        if (auto pid = parse_int(name)) {
            if (k.find_process(*pid))
                return make_pid_dir(k, *pid);
            // Another thread's id: not listed, but there, as its
            // process's task/TID (Linux's proc_pid_lookup).
            auto group = k.find_thread_group(*pid);
            if (!group)
                return err(Errno::NOENT);
            return TRY(make_pid_dir(k, group->pid())->lookup("task"))->lookup(name);
        }
        return fixed->lookup(name);
    };
    return RefPtr<Inode>(make_ref<DynamicDir>(1, list, lookup));
}

} // namespace umk::kernel
