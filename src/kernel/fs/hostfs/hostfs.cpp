#include "kernel/fs/hostfs/hostfs.h"

#include "kernel/vfs/dentry.h"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cstdio>
#include <functional>

namespace umk::kernel {

InodeAttr attr_from_host(const host::HostStat& s)
{
    InodeAttr a;
    a.dev = s.dev;
    a.ino = s.ino;
    a.mode = s.mode;
    a.nlink = s.nlink;
    a.uid = s.uid;
    a.gid = s.gid;
    a.rdev = s.rdev;
    a.size = s.size;
    a.blksize = s.blksize;
    a.blocks = s.blocks;
    a.atime = { s.atime_sec, s.atime_nsec };
    a.mtime = { s.mtime_sec, s.mtime_nsec };
    a.ctime = { s.ctime_sec, s.ctime_nsec };
    if (s.has_btime)
        a.btime = Timespec { s.btime_sec, s.btime_nsec };
    return a;
}

namespace {

// Host inodes alive, each with an O_PATH fd or one to open: past the
// budget, the dentry cache lets go of the ones nothing uses (a `du` of a
// big tree must not run the kernel out of fds or memory).
std::atomic<long> g_live_host_inodes { 0 };

long host_inode_budget()
{
    static const long budget = [] {
        rlimit r {};
        getrlimit(RLIMIT_NOFILE, &r);
        return std::clamp<long>(static_cast<long>(r.rlim_cur / 4), 256, 65536);
    }();
    return budget;
}

} // namespace

HostInode::HostInode(host::Fd fd, const host::HostStat& st, RefPtr<HostInode> parent, std::string name,
                     std::shared_ptr<const HostMountOptions> options)
    : m_stat(st), m_parent(std::move(parent)), m_name(std::move(name)), m_options(std::move(options))
{
    if (fd.valid())
        hold(std::move(fd));
    if (g_live_host_inodes.fetch_add(1, std::memory_order_relaxed) + 1 > host_inode_budget())
        Dentry::request_prune();
}

HostInode::~HostInode()
{
    host::Fd(m_fd.load(std::memory_order_acquire)).reset();
    g_live_host_inodes.fetch_sub(1, std::memory_order_relaxed);
}

int HostInode::hold(host::Fd fd)
{
    int expected = -1;
    if (!m_fd.compare_exchange_strong(expected, fd.get(), std::memory_order_acq_rel))
        return expected; // another thread's came first; ours closes
    return fd.release();
}

KResult<int> HostInode::path_fd()
{
    if (int fd = m_fd.load(std::memory_order_acquire); fd >= 0)
        return fd;
    return hold(TRY(open_by_name(O_PATH))); // looked up by a stat alone (lookup)
}

KResult<host::Fd> HostInode::open_by_name(int flags)
{
    auto fd = host::open_beneath(TRY(m_parent->path_fd()), m_name, flags);
    if (!fd)
        return fd.error() == Errno::NOENT ? went_stale() : err(fd.error());
    auto st = TRY(host::stat_fd(fd->get()));
    if (st.ino != m_stat.ino || st.dev != m_stat.dev)
        return went_stale();
    return fd;
}

std::unexpected<Errno> HostInode::went_stale()
{
    m_stale.store(true, std::memory_order_relaxed);
    found_stale();
    return err(Errno::STALE);
}

KResult<RefPtr<HostInode>> HostInode::make_root(host::Fd root, HostMountOptions options)
{
    auto st = TRY(host::stat_fd(root.get()));
    TRY(host::check_fs_allowed(root.get(), st.dev));
    return RefPtr<HostInode>(
        new HostInode(std::move(root), st, nullptr, "/", std::make_shared<const HostMountOptions>(options)));
}

Inode::FileKey HostInode::file_key()
{
    static const char host_files = 0;
    return { &host_files, m_stat.dev, m_stat.ino };
}

KResult<host::HostStat> HostInode::current()
{
    if (!m_options->live || m_covered)
        return m_stat;
    return host::stat_fd(TRY(path_fd()));
}

namespace {

// The host's xattr calls need a readable fd, which O_PATH fds are not;
// only regular files and directories keep user xattrs (ENODATA).
KResult<host::Fd> xattr_fd(int path_fd, u32 mode)
{
    if (!S_ISREG(mode) && !S_ISDIR(mode))
        return err(Errno::NODATA);
    return host::reopen(path_fd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
}

constexpr const char* kOwnerXattr = "user.umk.owner";

// What user.umk.owner says, if the file has it.
std::optional<InodeAttr> owner_override(int path_fd, u32 host_mode)
{
    auto fd = xattr_fd(path_fd, host_mode);
    if (!fd)
        return std::nullopt;
    auto value = host::get_xattr(fd->get(), kOwnerXattr);
    if (!value)
        return std::nullopt;
    std::string text(value->begin(), value->end());
    InodeAttr a;
    unsigned long long rdev = 0;
    if (std::sscanf(text.c_str(), "%u:%u:%o:%llu", &a.uid, &a.gid, &a.mode, &rdev) != 4)
        return std::nullopt;
    // A directory stays one; a regular file may stand for a device, FIFO or
    // socket, never a directory or symlink (whoever wrote the attribute).
    u32 type = a.mode & S_IFMT;
    bool fits = S_ISDIR(host_mode) ? type == S_IFDIR
                                   : type == S_IFREG || type == S_IFCHR || type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK;
    if (!fits || (a.mode & ~(S_IFMT | 07777)))
        return std::nullopt;
    a.rdev = rdev;
    return a;
}

KResult<void> write_owner_override(int path_fd, u32 host_mode, const InodeAttr& a)
{
    auto fd = xattr_fd(path_fd, host_mode);
    if (!fd)
        return err(fd.error() == Errno::NODATA ? Errno::PERM : fd.error()); // nowhere to keep it
    auto text = fmt::format("{}:{}:{:o}:{}", a.uid, a.gid, a.mode, a.rdev);
    return host::set_xattr(fd->get(), kOwnerXattr, std::span(reinterpret_cast<const u8*>(text.data()), text.size()), 0);
}

} // namespace

KResult<InodeAttr> HostInode::attr()
{
    auto st = TRY(current());
    auto a = attr_from_host(st);
    if (m_options->owners_in_xattrs && !m_covered) {
        if (auto o = owner_override(TRY(path_fd()), st.mode)) {
            a.uid = o->uid;
            a.gid = o->gid;
            a.mode = o->mode;
            a.rdev = o->rdev;
        }
    }
    return a;
}

KResult<RefPtr<Inode>> HostInode::lookup(std::string_view name)
{
    if (!S_ISDIR(TRY(current()).mode))
        return err(Errno::NOTDIR);
    if (m_covered)
        return err(Errno::NOENT);
    int dir = TRY(path_fd());
    // In the lower layer, which does not change, a file other than a
    // directory or symlink gets its fd only when something needs it
    // (path_fd): a stat is one host call, not an open, a stat and a close.
    // (Path walks read symlinks, and so keep the one looked up.)
    KResult<host::HostStat> found = err(Errno::NOSYS);
    if (!m_options->live)
        found = host::stat_beneath(dir, std::string(name));
    if (found && !S_ISDIR(found->mode) && !S_ISLNK(found->mode))
        return RefPtr<Inode>(new HostInode(host::Fd(), *found, RefPtr<HostInode>(this), std::string(name), m_options));
    auto opened = !found && found.error() != Errno::NOSYS ? KResult<host::Fd>(err(found.error()))
                                                          : host::open_beneath(dir, std::string(name), O_PATH);
    if (!opened && opened.error() == Errno::XDEV) {
        // A host mount point. Mounts the guest gets are stacked on this
        // dentry by the kernel; any other (proc, sysfs, ...) shows as an
        // empty directory and is never looked into.
        host::HostStat st = m_stat;
        st.mode = S_IFDIR | 0555;
        st.nlink = 2;
        st.size = 0;
        st.ino = std::hash<std::string_view> {}(name) | (1ULL << 63);
        auto fd = TRY(host::open_beneath(dir, ".", O_PATH));
        RefPtr<HostInode> covered(
            new HostInode(std::move(fd), st, RefPtr<HostInode>(this), std::string(name), m_options));
        covered->m_covered = true;
        return RefPtr<Inode>(covered);
    }
    if (!opened)
        return err(opened.error() == Errno::LOOP ? Errno::NOENT : opened.error());
    auto st = TRY(host::stat_fd(opened->get()));
    return RefPtr<Inode>(new HostInode(std::move(*opened), st, RefPtr<HostInode>(this), std::string(name), m_options));
}

KResult<std::vector<DirEntry>> HostInode::list()
{
    if (!S_ISDIR(TRY(current()).mode))
        return err(Errno::NOTDIR);
    if (m_covered)
        return std::vector<DirEntry> {};
    auto dir = TRY(host::open_beneath(TRY(path_fd()), ".", O_RDONLY | O_DIRECTORY));
    auto entries = TRY(host::read_dir(dir.get()));
    std::vector<DirEntry> out;
    out.reserve(entries.size());
    // A regular file may be a placeholder for another type: unknown, so
    // that readers stat it.
    bool placeholders = m_options->owners_in_xattrs;
    for (auto& e : entries)
        out.push_back({ std::move(e.name), e.ino, placeholders && e.type == DT_REG ? u8 { DT_UNKNOWN } : e.type });
    return out;
}

KResult<std::string> HostInode::readlink()
{
    if (!S_ISLNK(m_stat.mode))
        return err(Errno::INVAL);
    return host::readlink_fd(TRY(path_fd()));
}

KResult<RefPtr<File>> HostInode::open(int flags)
{
    bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (writes && !m_options->writable)
        return err(Errno::ROFS);
    u32 type = m_stat.mode & S_IFMT;
    if (m_covered) { // list() answers for it: empty
        if (writes)
            return err(Errno::ROFS);
        return RefPtr<File>(new HostFile(RefPtr<Inode>(this), flags, TRY(host::open_beneath(TRY(path_fd()), ".", O_PATH))));
    }
    if (type != S_IFREG && type != S_IFDIR)
        return err(Errno::ACCES); // host devices, FIFOs and sockets are never opened
    host::Fd fd;
    if (type == S_IFDIR) {
        fd = TRY(host::open_beneath(TRY(path_fd()), ".", O_RDONLY | O_NOCTTY | O_DIRECTORY));
    } else if (m_options->live) {
        // The very inode looked up (the magic link of its O_PATH fd),
        // without the guest's O_APPEND: umk writes at the positions it keeps.
        int access = (flags & O_ACCMODE) == O_RDONLY ? O_RDONLY : (flags & O_ACCMODE) == O_WRONLY ? O_WRONLY : O_RDWR;
        fd = TRY(host::reopen(TRY(path_fd()), access | O_NOCTTY | O_NONBLOCK));
        if (flags & O_TRUNC)
            TRY(host::ftruncate(fd.get(), 0));
    } else if (m_parent) {
        fd = TRY(open_by_name(O_RDONLY | O_NOCTTY | O_NONBLOCK));
    } else {
        return err(Errno::ACCES);
    }
    TRY(host::check_fs_allowed(fd.get(), m_stat.dev)); // the same file as looked up
    return RefPtr<File>(new HostFile(RefPtr<Inode>(this), flags, std::move(fd)));
}

std::optional<FsStats> HostInode::statfs()
{
    auto fd = path_fd();
    struct statfs host {};
    if (!fd || fstatfs(*fd, &host) != 0)
        return std::nullopt;
    FsStats s;
    s.type = host.f_type;
    s.bsize = host.f_bsize;
    s.blocks = host.f_blocks;
    s.bfree = host.f_bfree;
    s.bavail = host.f_bavail;
    s.files = host.f_files;
    s.ffree = host.f_ffree;
    s.namelen = host.f_namelen;
    return s;
}

KResult<void> HostInode::check_writable_dir()
{
    if (!m_options->writable || m_covered)
        return err(Errno::ROFS);
    if (!S_ISDIR(TRY(current()).mode))
        return err(Errno::NOTDIR);
    return {};
}

KResult<RefPtr<Inode>> HostInode::made(std::string_view name, u32 uid, u32 gid)
{
    auto fd = TRY(host::open_beneath(TRY(path_fd()), std::string(name), O_PATH));
    // The guest's owner where the host allows it (a rootless host maps
    // only its own user), else in user.umk.owner when kept there.
    auto chowned = host::chown(fd.get(), uid, gid);
    auto st = TRY(host::stat_fd(fd.get()));
    if (!chowned && m_options->owners_in_xattrs) {
        InodeAttr a = attr_from_host(st);
        a.uid = uid;
        a.gid = gid;
        (void)write_owner_override(fd.get(), st.mode, a);
    }
    return RefPtr<Inode>(new HostInode(std::move(fd), st, RefPtr<HostInode>(this), std::string(name), m_options));
}

KResult<RefPtr<Inode>> HostInode::create(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    if (m_options->owners_in_xattrs && (S_ISFIFO(mode) || S_ISSOCK(mode)))
        return mknod(name, mode, 0, uid, gid); // a placeholder (bind(2) of a unix socket)
    TRY(check_writable_dir());
    u32 special = S_ISREG(mode) && m_options->owners_in_xattrs ? mode & (S_ISUID | S_ISGID) : 0;
    TRY(host::make_node(TRY(path_fd()), std::string(name), mode & ~special));
    auto inode = TRY(made(name, uid, gid));
    if (special)
        TRY(inode->chmod(mode & 07777)); // into the attribute (chmod above)
    return inode;
}

KResult<RefPtr<Inode>> HostInode::mkdir(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    TRY(check_writable_dir());
    TRY(host::make_dir(TRY(path_fd()), std::string(name), mode));
    return made(name, uid, gid);
}

KResult<RefPtr<Inode>> HostInode::symlink(std::string_view name, std::string_view target, u32 uid, u32 gid)
{
    TRY(check_writable_dir());
    TRY(host::make_symlink(TRY(path_fd()), std::string(name), std::string(target)));
    return made(name, uid, gid);
}

KResult<void> HostInode::unlink(std::string_view name)
{
    TRY(check_writable_dir());
    return host::remove(TRY(path_fd()), std::string(name), false);
}

KResult<void> HostInode::rmdir(std::string_view name)
{
    TRY(check_writable_dir());
    return host::remove(TRY(path_fd()), std::string(name), true);
}

KResult<void> HostInode::rename(std::string_view name, Inode& new_dir, std::string_view new_name)
{
    TRY(check_writable_dir());
    auto& to = static_cast<HostInode&>(new_dir); // same fs_id: the caller checked
    TRY(to.check_writable_dir());
    return host::rename(TRY(path_fd()), std::string(name), TRY(to.path_fd()), std::string(new_name));
}

KResult<void> HostInode::exchange(std::string_view name, Inode& other_dir, std::string_view other_name)
{
    TRY(check_writable_dir());
    auto& to = static_cast<HostInode&>(other_dir);
    TRY(to.check_writable_dir());
    return host::rename(TRY(path_fd()), std::string(name), TRY(to.path_fd()), std::string(other_name), RENAME_EXCHANGE);
}

KResult<void> HostInode::link(Inode& target_inode, std::string_view name)
{
    TRY(check_writable_dir());
    auto& target = static_cast<HostInode&>(target_inode);
    if (!S_ISLNK(target.m_stat.mode))
        return host::link(TRY(target.path_fd()), TRY(path_fd()), std::string(name));
    // A symlink: by its name, which following the magic link would pass.
    if (!target.m_parent)
        return err(Errno::PERM);
    return host::link_at(TRY(target.m_parent->path_fd()), target.m_name, TRY(path_fd()), std::string(name));
}

KResult<void> HostInode::chmod(u32 mode)
{
    if (!m_options->writable || m_covered)
        return err(Errno::ROFS);
    auto st = TRY(current());
    if (m_options->owners_in_xattrs) {
        // A file's set-user-ID and set-group-ID are the guest's (for its
        // users): kept in the attribute, never given to the host user's file.
        u32 guest_only = S_ISREG(st.mode) ? S_ISUID | S_ISGID : 0;
        auto o = owner_override(TRY(path_fd()), st.mode);
        if (o || (mode & guest_only)) {
            InodeAttr a = o ? *o : attr_from_host(st);
            a.mode = (a.mode & S_IFMT) | (mode & 07777);
            TRY(write_owner_override(TRY(path_fd()), st.mode, a));
            if (!S_ISREG(a.mode) && !S_ISDIR(a.mode))
                return {}; // a placeholder keeps its own mode
        }
        return host::chmod(TRY(path_fd()), mode & 07777 & ~guest_only);
    }
    return host::chmod(TRY(path_fd()), mode & 07777);
}

KResult<void> HostInode::chown(u32 uid, u32 gid)
{
    if (!m_options->writable || m_covered)
        return err(Errno::ROFS);
    if (!m_options->owners_in_xattrs)
        return host::chown(TRY(path_fd()), uid, gid);
    auto st = TRY(current());
    auto o = owner_override(TRY(path_fd()), st.mode);
    if (!o) {
        auto chowned = host::chown(TRY(path_fd()), uid, gid);
        if (chowned || (chowned.error() != Errno::INVAL && chowned.error() != Errno::PERM))
            return chowned;
    }
    InodeAttr a = o ? *o : attr_from_host(st);
    if (uid != ~0U)
        a.uid = uid;
    if (gid != ~0U)
        a.gid = gid;
    return write_owner_override(TRY(path_fd()), st.mode, a);
}

KResult<RefPtr<Inode>> HostInode::mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid)
{
    if (!m_options->owners_in_xattrs || S_ISREG(mode) || (mode & S_IFMT) == 0)
        return Inode::mknod(name, mode, rdev, uid, gid);
    // A device node the host will not let us make, or a FIFO or socket
    // whose owner it could not keep (no user xattrs on those): a
    // placeholder carrying the type.
    TRY(check_writable_dir());
    TRY(host::make_node(TRY(path_fd()), std::string(name), S_IFREG | 0600));
    auto fd = TRY(host::open_beneath(TRY(path_fd()), std::string(name), O_PATH));
    auto st = TRY(host::stat_fd(fd.get()));
    InodeAttr a = attr_from_host(st);
    a.uid = uid;
    a.gid = gid;
    a.mode = mode;
    a.rdev = rdev;
    TRY(write_owner_override(fd.get(), st.mode, a));
    return RefPtr<Inode>(new HostInode(std::move(fd), st, RefPtr<HostInode>(this), std::string(name), m_options));
}

KResult<void> HostInode::truncate(u64 length)
{
    if (!m_options->writable || m_covered)
        return err(Errno::ROFS);
    if (!S_ISREG(m_stat.mode))
        return err(Errno::INVAL);
    auto fd = TRY(host::reopen(TRY(path_fd()), O_WRONLY | O_NOCTTY | O_NONBLOCK));
    return host::ftruncate(fd.get(), length);
}

KResult<void> HostInode::set_times(std::optional<Timespec> atime, std::optional<Timespec> mtime)
{
    if (!m_options->writable || m_covered)
        return err(Errno::ROFS);
    auto value = [](std::optional<Timespec> t) {
        return t ? std::optional(host::TimeValue { t->sec, t->nsec }) : std::nullopt;
    };
    if (!S_ISLNK(m_stat.mode))
        return host::set_times(TRY(path_fd()), value(atime), value(mtime));
    if (!m_parent)
        return err(Errno::PERM);
    return host::set_times_at(TRY(m_parent->path_fd()), m_name, value(atime), value(mtime));
}

KResult<std::vector<u8>> HostInode::get_xattr(std::string_view name)
{
    if (m_options->owners_in_xattrs && name == kOwnerXattr)
        return err(Errno::NODATA); // umk's own, not the guest's
    auto fd = xattr_fd(TRY(path_fd()), m_stat.mode);
    if (!fd)
        return err(fd.error() == Errno::NODATA ? Errno::NODATA : Errno::OPNOTSUPP);
    return host::get_xattr(fd->get(), std::string(name));
}

KResult<void> HostInode::set_xattr(std::string_view name, std::span<const u8> value, int flags)
{
    if (m_options->owners_in_xattrs && name == kOwnerXattr)
        return err(Errno::PERM);
    if (!m_options->writable || m_covered)
        return err(Errno::ROFS);
    auto fd = xattr_fd(TRY(path_fd()), m_stat.mode);
    if (!fd)
        return err(fd.error() == Errno::NODATA ? Errno::PERM : Errno::OPNOTSUPP);
    return host::set_xattr(fd->get(), std::string(name), value, flags);
}

KResult<void> HostInode::remove_xattr(std::string_view name)
{
    if (m_options->owners_in_xattrs && name == kOwnerXattr)
        return err(Errno::NODATA);
    if (!m_options->writable || m_covered)
        return err(Errno::ROFS);
    auto fd = xattr_fd(TRY(path_fd()), m_stat.mode);
    if (!fd)
        return err(fd.error() == Errno::NODATA ? Errno::NODATA : Errno::OPNOTSUPP);
    return host::remove_xattr(fd->get(), std::string(name));
}

bool HostInode::has_whiteout(std::string_view name)
{
    auto fd = path_fd();
    return fd && host::is_whiteout(*fd, std::string(name));
}

KResult<void> HostInode::add_whiteout(std::string_view name)
{
    TRY(check_writable_dir());
    return host::make_whiteout(TRY(path_fd()), std::string(name));
}

KResult<void> HostInode::remove_whiteout(std::string_view name)
{
    TRY(check_writable_dir());
    if (!has_whiteout(name))
        return {};
    return host::remove(TRY(path_fd()), std::string(name), false);
}

constexpr const char* kOpaqueXattr = "user.overlay.opaque";

bool HostInode::opaque()
{
    std::lock_guard lock(m_lock);
    if (!m_opaque) {
        auto path = path_fd();
        auto fd = path ? xattr_fd(*path, m_stat.mode) : KResult<host::Fd>(err(path.error()));
        auto value = fd ? host::get_xattr(fd->get(), kOpaqueXattr) : KResult<std::vector<u8>>(err(Errno::NODATA));
        m_opaque = value && value->size() == 1 && (*value)[0] == 'y';
    }
    return *m_opaque;
}

KResult<void> HostInode::set_opaque()
{
    TRY(check_writable_dir());
    auto fd = TRY(xattr_fd(TRY(path_fd()), m_stat.mode));
    static constexpr u8 kYes[] = { 'y' };
    TRY(host::set_xattr(fd.get(), kOpaqueXattr, kYes, 0));
    std::lock_guard lock(m_lock);
    m_opaque = true;
    return {};
}

KResult<std::vector<std::string>> HostInode::list_xattrs()
{
    auto fd = xattr_fd(TRY(path_fd()), m_stat.mode);
    if (!fd)
        return std::vector<std::string>();
    auto names = TRY(host::list_xattrs(fd->get()));
    std::erase(names, std::string(kOwnerXattr));
    return names;
}

KResult<usize> HostFile::read(std::span<u8> out, u64 pos) { return host::pread(m_fd.get(), out, pos); }

KResult<usize> HostFile::write(std::span<const u8> data, u64 pos) { return host::pwrite(m_fd.get(), data, pos); }

KResult<std::vector<DirEntry>> HostFile::list() { return inode().list(); }

} // namespace umk::kernel
