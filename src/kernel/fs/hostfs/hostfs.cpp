#include "kernel/fs/hostfs/hostfs.h"

#include <fcntl.h>
#include <sys/stat.h>

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

KResult<RefPtr<HostInode>> HostInode::make_root(host::Fd root)
{
    auto st = TRY(host::stat_fd(root.get()));
    TRY(host::check_fs_allowed(root.get()));
    return RefPtr<HostInode>(new HostInode(std::move(root), st, nullptr, "/"));
}

KResult<InodeAttr> HostInode::attr() { return attr_from_host(m_stat); }

KResult<RefPtr<Inode>> HostInode::lookup(std::string_view name)
{
    if (!S_ISDIR(m_stat.mode))
        return err(Errno::NOTDIR);
    if (m_covered)
        return err(Errno::NOENT);
    auto opened = host::open_beneath(m_fd.get(), std::string(name), O_PATH);
    if (!opened && opened.error() == Errno::XDEV) {
        // A host mount point. Mounts the guest gets are stacked on this
        // dentry by the kernel; any other (proc, sysfs, ...) shows as an
        // empty directory and is never looked into.
        host::HostStat st = m_stat;
        st.mode = S_IFDIR | 0555;
        st.nlink = 2;
        st.size = 0;
        st.ino = std::hash<std::string_view> {}(name) | (1ULL << 63);
        auto fd = TRY(host::open_beneath(m_fd.get(), ".", O_PATH));
        RefPtr<HostInode> covered(new HostInode(std::move(fd), st, RefPtr<HostInode>(this), std::string(name)));
        covered->m_covered = true;
        return RefPtr<Inode>(covered);
    }
    if (!opened)
        return err(opened.error() == Errno::LOOP ? Errno::NOENT : opened.error());
    auto st = TRY(host::stat_fd(opened->get()));
    return RefPtr<Inode>(new HostInode(std::move(*opened), st, RefPtr<HostInode>(this), std::string(name)));
}

KResult<std::vector<DirEntry>> HostInode::list()
{
    if (!S_ISDIR(m_stat.mode))
        return err(Errno::NOTDIR);
    if (m_covered)
        return std::vector<DirEntry> {};
    auto dir = TRY(host::open_beneath(m_fd.get(), ".", O_RDONLY | O_DIRECTORY));
    auto entries = TRY(host::read_dir(dir.get()));
    std::vector<DirEntry> out;
    out.reserve(entries.size());
    for (auto& e : entries)
        out.push_back({ std::move(e.name), e.ino, e.type });
    return out;
}

KResult<std::string> HostInode::readlink()
{
    if (!S_ISLNK(m_stat.mode))
        return err(Errno::INVAL);
    return host::readlink_fd(m_fd.get());
}

KResult<RefPtr<File>> HostInode::open(int flags)
{
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
        return err(Errno::ROFS);
    u32 type = m_stat.mode & S_IFMT;
    if (m_covered) // list() answers for it: empty
        return RefPtr<File>(new HostFile(RefPtr<Inode>(this), flags, TRY(host::open_beneath(m_fd.get(), ".", O_PATH))));
    if (type != S_IFREG && type != S_IFDIR)
        return err(Errno::ACCES); // host devices, FIFOs and sockets are never opened
    int host_flags = O_RDONLY | O_NOCTTY | (type == S_IFDIR ? O_DIRECTORY : 0);
    host::Fd fd;
    if (type == S_IFDIR)
        fd = TRY(host::open_beneath(m_fd.get(), ".", host_flags));
    else if (m_parent)
        fd = TRY(host::open_beneath(m_parent->path_fd(), m_name, host_flags | O_NONBLOCK));
    else
        return err(Errno::ACCES);
    // The name may have been replaced on the host since the lookup.
    auto st = TRY(host::stat_fd(fd.get()));
    if (st.ino != m_stat.ino || st.dev != m_stat.dev)
        return err(Errno::STALE);
    TRY(host::check_fs_allowed(fd.get()));
    return RefPtr<File>(new HostFile(RefPtr<Inode>(this), flags, std::move(fd)));
}

// The host's xattr calls need a readable fd, which O_PATH fds are not.
static KResult<host::Fd> xattr_fd(int path_fd, u32 mode)
{
    if (!S_ISREG(mode) && !S_ISDIR(mode))
        return err(Errno::NODATA);
    return host::reopen(path_fd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
}

KResult<std::vector<u8>> HostInode::get_xattr(std::string_view name)
{
    auto fd = xattr_fd(m_fd.get(), m_stat.mode);
    if (!fd)
        return err(fd.error() == Errno::NODATA ? Errno::NODATA : Errno::OPNOTSUPP);
    return host::get_xattr(fd->get(), std::string(name));
}

KResult<std::vector<std::string>> HostInode::list_xattrs()
{
    auto fd = xattr_fd(m_fd.get(), m_stat.mode);
    if (!fd)
        return std::vector<std::string>();
    return host::list_xattrs(fd->get());
}

KResult<usize> HostFile::read(std::span<u8> out, u64 pos) { return host::pread(m_fd.get(), out, pos); }

KResult<usize> HostFile::write(std::span<const u8> data, u64 pos) { return host::pwrite(m_fd.get(), data, pos); }

KResult<std::vector<DirEntry>> HostFile::list() { return inode().list(); }

} // namespace umk::kernel
