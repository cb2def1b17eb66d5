#include "host/files.h"

#include "host/result.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_set>

namespace umk::host {

KResult<Fd> open_beneath(int dirfd, const std::string& name, int flags)
{
    open_how how {};
    how.flags = static_cast<u64>(flags | O_NOFOLLOW | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    for (;;) {
        long fd = syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how);
        if (fd >= 0)
            return Fd(static_cast<int>(fd));
        if (errno == EAGAIN || errno == EINTR)
            continue; // a rename raced: retried, never shown to the guest
        return err(errno_from_host(errno));
    }
}

KResult<Fd> open_path(const char* absolute_path)
{
    int fd = ::open(absolute_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return Fd(TRY(check(fd)));
}

namespace {

// One component: what open_beneath would accept as a new name.
KResult<void> check_leaf(const std::string& name)
{
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
        return err(Errno::INVAL);
    return {};
}

HostStat from_statx(const struct statx& sx)
{
    HostStat s {};
    s.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    s.rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
    s.ino = sx.stx_ino;
    s.mode = sx.stx_mode;
    s.uid = sx.stx_uid;
    s.gid = sx.stx_gid;
    s.nlink = sx.stx_nlink;
    s.size = static_cast<i64>(sx.stx_size);
    s.blksize = sx.stx_blksize;
    s.blocks = static_cast<i64>(sx.stx_blocks);
    s.atime_sec = sx.stx_atime.tv_sec;
    s.atime_nsec = sx.stx_atime.tv_nsec;
    s.mtime_sec = sx.stx_mtime.tv_sec;
    s.mtime_nsec = sx.stx_mtime.tv_nsec;
    s.ctime_sec = sx.stx_ctime.tv_sec;
    s.ctime_nsec = sx.stx_ctime.tv_nsec;
    s.has_btime = sx.stx_mask & STATX_BTIME;
    s.btime_sec = sx.stx_btime.tv_sec;
    s.btime_nsec = sx.stx_btime.tv_nsec;
    return s;
}

} // namespace

KResult<HostStat> stat_fd(int fd)
{
    struct statx sx {};
    TRY(check_void(statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx)));
    return from_statx(sx);
}

KResult<HostStat> stat_beneath(int dirfd, const std::string& name)
{
    TRY(check_leaf(name));
    struct statx sx {};
    TRY(check_void(statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS | STATX_BTIME, &sx)));
    if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        return err(Errno::NOSYS);
    if (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
        return err(Errno::XDEV);
    return from_statx(sx);
}

KResult<std::string> readlink_fd(int fd)
{
    char buf[4096];
    ssize_t n = readlinkat(fd, "", buf, sizeof buf);
    TRY(check(n));
    return std::string(buf, static_cast<usize>(n));
}

KResult<void> check_fs_allowed(int fd, u64 dev)
{
    static std::mutex lock;
    static std::unordered_set<u64> allowed_block_devices;
    bool block = major(dev) != 0;
    if (block) {
        std::lock_guard guard(lock);
        if (allowed_block_devices.contains(dev))
            return {};
    }
    struct statfs sf {};
    TRY(check_void(fstatfs(fd, &sf)));
    switch (static_cast<unsigned long>(sf.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case BPF_FS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case NSFS_MAGIC:
        return err(Errno::ACCES);
    }
    // devtmpfs reports TMPFS_MAGIC: device nodes are refused by type.
    if (block) {
        std::lock_guard guard(lock);
        allowed_block_devices.insert(dev);
    }
    return {};
}

KResult<std::vector<HostDirEntry>> read_dir(int dirfd)
{
    std::vector<HostDirEntry> out;
    alignas(8) char buf[32768];
    TRY(check(lseek(dirfd, 0, SEEK_SET)));
    for (;;) {
        long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
        if (n < 0)
            return err(errno_from_host(errno));
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            auto* d = reinterpret_cast<dirent64*>(buf + off);
            out.push_back({ std::string(d->d_name), d->d_ino, d->d_type });
            off += d->d_reclen;
        }
    }
    return out;
}

KResult<usize> pread(int fd, std::span<u8> out, u64 offset)
{
    ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    return static_cast<usize>(TRY(check(n)));
}

KResult<usize> pwrite(int fd, std::span<const u8> data, u64 offset)
{
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    return static_cast<usize>(TRY(check(n)));
}

u32 poll_now(int fd, short wanted)
{
    pollfd p { fd, wanted, 0 };
    if (::poll(&p, 1, 0) != 1)
        return 0;
    u32 events = static_cast<u16>(p.revents);
    if (events & POLLIN)
        events |= POLLRDNORM;
    if (events & POLLOUT)
        events |= POLLWRNORM;
    return events;
}

KResult<usize> read(int fd, std::span<u8> out)
{
    ssize_t n = ::read(fd, out.data(), out.size());
    return static_cast<usize>(TRY(check(n)));
}

KResult<usize> write(int fd, std::span<const u8> data)
{
    ssize_t n = ::write(fd, data.data(), data.size());
    return static_cast<usize>(TRY(check(n)));
}

KResult<void> ftruncate(int fd, u64 length)
{
    return check_void(::ftruncate(fd, static_cast<off_t>(length)));
}

static int g_proc = -1;
static bool g_proc_shows_our_pids = false;

KResult<void> open_proc(bool own_pid_namespace)
{
    // A proc of the kernel's own pid namespace shows its stubs' pids; the
    // mount stays in the kernel's private mount namespace. Where a
    // restricted host forbids it, the inherited one still serves
    // /proc/self.
    g_proc_shows_our_pids = !own_pid_namespace
        || mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0;
    g_proc = TRY(check(open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC)));
    return {};
}

KResult<int> proc_fd()
{
    if (g_proc < 0) // a process that never left its root (unit tests)
        TRY(open_proc(false));
    return g_proc;
}

KResult<Fd> reopen(int fd, int flags)
{
    auto name = "self/fd/" + std::to_string(fd);
    return Fd(TRY(check(openat(TRY(proc_fd()), name.c_str(), flags | O_CLOEXEC))));
}

KResult<std::vector<u8>> get_xattr(int fd, const std::string& name)
{
    for (;;) { // the value may grow between the two calls
        ssize_t size = TRY(check(fgetxattr(fd, name.c_str(), nullptr, 0)));
        std::vector<u8> value(static_cast<usize>(size));
        ssize_t got = fgetxattr(fd, name.c_str(), value.data(), value.size());
        if (got >= 0) {
            value.resize(static_cast<usize>(got));
            return value;
        }
        if (errno != ERANGE)
            return err(errno_from_host(errno));
    }
}

KResult<std::vector<std::string>> list_xattrs(int fd)
{
    for (;;) {
        ssize_t size = TRY(check(flistxattr(fd, nullptr, 0)));
        std::vector<char> names(static_cast<usize>(size));
        ssize_t got = flistxattr(fd, names.data(), names.size());
        if (got < 0 && errno == ERANGE)
            continue;
        TRY(check(got));
        std::vector<std::string> out;
        for (usize at = 0; at < static_cast<usize>(got);) {
            std::string name(names.data() + at);
            at += name.size() + 1;
            out.push_back(std::move(name));
        }
        return out;
    }
}

KResult<void> set_xattr(int fd, const std::string& name, std::span<const u8> value, int flags)
{
    return check_void(fsetxattr(fd, name.c_str(), value.data(), value.size(), flags));
}

KResult<void> remove_xattr(int fd, const std::string& name) { return check_void(fremovexattr(fd, name.c_str())); }

KResult<void> make_node(int dirfd, const std::string& name, u32 mode)
{
    TRY(check_leaf(name));
    u32 type = mode & S_IFMT;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
        return err(Errno::PERM);
    TRY(check_void(mknodat(dirfd, name.c_str(), mode, 0)));
    // The host's umask applied; the guest's already did.
    auto fd = TRY(open_beneath(dirfd, name, O_PATH));
    return chmod(fd.get(), mode & 07777);
}

KResult<void> make_whiteout(int dirfd, const std::string& name)
{
    TRY(check_leaf(name));
    return check_void(mknodat(dirfd, name.c_str(), S_IFCHR, makedev(0, 0)));
}

bool is_whiteout(int dirfd, const std::string& name)
{
    if (!check_leaf(name))
        return false;
    struct stat st {};
    return fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

KResult<void> make_dir(int dirfd, const std::string& name, u32 mode)
{
    TRY(check_leaf(name));
    TRY(check_void(mkdirat(dirfd, name.c_str(), mode & 07777)));
    auto fd = TRY(open_beneath(dirfd, name, O_PATH | O_DIRECTORY));
    return chmod(fd.get(), mode & 07777);
}

KResult<void> make_symlink(int dirfd, const std::string& name, const std::string& target)
{
    TRY(check_leaf(name));
    return check_void(symlinkat(target.c_str(), dirfd, name.c_str()));
}

KResult<void> remove(int dirfd, const std::string& name, bool directory)
{
    TRY(check_leaf(name));
    return check_void(unlinkat(dirfd, name.c_str(), directory ? AT_REMOVEDIR : 0));
}

KResult<void> rename(int dirfd, const std::string& name, int new_dirfd, const std::string& new_name, unsigned flags)
{
    TRY(check_leaf(name));
    TRY(check_leaf(new_name));
    return check_void(renameat2(dirfd, name.c_str(), new_dirfd, new_name.c_str(), flags));
}

KResult<void> link(int fd, int dirfd, const std::string& name)
{
    TRY(check_leaf(name));
    auto self = "self/fd/" + std::to_string(fd);
    return check_void(linkat(TRY(proc_fd()), self.c_str(), dirfd, name.c_str(), AT_SYMLINK_FOLLOW));
}

KResult<void> link_at(int dirfd, const std::string& name, int new_dirfd, const std::string& new_name)
{
    TRY(check_leaf(name));
    TRY(check_leaf(new_name));
    return check_void(linkat(dirfd, name.c_str(), new_dirfd, new_name.c_str(), 0));
}

KResult<void> chmod(int fd, u32 mode)
{
    constexpr long kSysFchmodat2 = 452; // Linux 6.6; not in this libc's headers
    return check_void(static_cast<int>(syscall(kSysFchmodat2, fd, "", mode, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)));
}

KResult<void> chown(int fd, u32 uid, u32 gid)
{
    return check_void(fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

namespace {

void to_timespecs(std::optional<TimeValue> atime, std::optional<TimeValue> mtime, timespec (&ts)[2])
{
    ts[0] = atime ? timespec { atime->sec, atime->nsec } : timespec { 0, UTIME_OMIT };
    ts[1] = mtime ? timespec { mtime->sec, mtime->nsec } : timespec { 0, UTIME_OMIT };
}

} // namespace

KResult<void> set_times(int fd, std::optional<TimeValue> atime, std::optional<TimeValue> mtime)
{
    timespec ts[2];
    to_timespecs(atime, mtime, ts);
    // utimensat has no AT_EMPTY_PATH: the magic link names the inode fd holds.
    auto self = "self/fd/" + std::to_string(fd);
    return check_void(utimensat(TRY(proc_fd()), self.c_str(), ts, 0));
}

KResult<void> set_times_at(int dirfd, const std::string& name, std::optional<TimeValue> atime,
                           std::optional<TimeValue> mtime)
{
    TRY(check_leaf(name));
    timespec ts[2];
    to_timespecs(atime, mtime, ts);
    return check_void(utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW));
}

std::optional<u64> thread_cpu_ns(int pid, int tid)
{
    auto dir = proc_fd();
    if (!dir || !g_proc_shows_our_pids)
        return std::nullopt;
    auto name = std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat";
    Fd fd(openat(*dir, name.c_str(), O_RDONLY | O_CLOEXEC));
    char buf[96];
    ssize_t n = fd.get() >= 0 ? ::read(fd.get(), buf, sizeof buf - 1) : -1;
    if (n <= 0)
        return std::nullopt;
    buf[n] = 0;
    return std::strtoull(buf, nullptr, 10); // the first field: time on the CPU
}

KResult<std::string> read_proc_file(const std::string& name)
{
    auto dir = TRY(proc_fd());
    if (!name.empty() && name[0] >= '0' && name[0] <= '9' && !g_proc_shows_our_pids)
        return err(Errno::NOENT);
    Fd fd(openat(dir, name.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return err(errno_from_host(errno));
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0)
            return err(errno_from_host(errno));
        if (n == 0)
            return out;
        out.append(buf, static_cast<usize>(n));
    }
}

KResult<usize> read_proc_prefix(const char* name, std::span<char> out)
{
    Fd fd(openat(TRY(proc_fd()), name, O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return err(errno_from_host(errno));
    usize done = 0;
    while (done < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
        if (n < 0)
            return err(errno_from_host(errno));
        if (n == 0)
            break;
        done += static_cast<usize>(n);
    }
    return done;
}

bool thread_of(int pid, int tid)
{
    auto dir = proc_fd();
    if (!dir || !g_proc_shows_our_pids || pid <= 0 || tid <= 0)
        return false;
    auto name = std::to_string(pid) + "/task/" + std::to_string(tid);
    return faccessat(*dir, name.c_str(), F_OK, 0) == 0;
}

KResult<Fd> memfd(const char* name, unsigned flags)
{
    return Fd(TRY(check(memfd_create(name, MFD_CLOEXEC | flags))));
}

KResult<void> copy_file(int from, int to)
{
    off_t offset = 0;
    for (;;) {
        ssize_t n = copy_file_range(from, &offset, to, nullptr, 1 << 30, 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP))
            n = sendfile(to, from, &offset, 1 << 30);
        if (n < 0)
            return err(errno_from_host(errno));
        if (n == 0)
            return {};
    }
}

KResult<NewPages> unallocated_pages(int fd, u64 offset, u64 length, u64 page, u64 room)
{
    u64 size = static_cast<u64>(TRY(stat_fd(fd)).size);
    u64 end = offset + length, pages = 0, fits_until = end;
    for (u64 at = offset / page * page; at < end;) {
        u64 hole = at;
        if (at < size) {
            off_t h = lseek(fd, static_cast<off_t>(at), SEEK_HOLE);
            hole = h < 0 ? size : static_cast<u64>(h);
        }
        if (hole >= end)
            break;
        off_t data = hole < size ? lseek(fd, static_cast<off_t>(hole), SEEK_DATA) : -1;
        u64 hole_end = data < 0 ? end : std::min<u64>(static_cast<u64>(data), end);
        for (u64 p = hole / page * page; p < hole_end; p += page) {
            if (pages == room && fits_until == end)
                fits_until = std::max(p, offset);
            pages++;
        }
        at = hole_end;
    }
    return NewPages { pages, fits_until };
}

} // namespace umk::host
