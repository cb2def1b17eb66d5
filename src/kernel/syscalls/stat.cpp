// stat(2), statx(2), readlink(2), access(2). Linux: fs/stat.c, fs/open.c.
#include "kernel/syscalls/handlers.h"

#include <fcntl.h>
#include <linux/stat.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace umk::kernel {

namespace {

abi::Stat to_stat(const InodeAttr& a)
{
    abi::Stat s {};
    s.st_dev = a.dev;
    s.st_ino = a.ino;
    s.st_nlink = a.nlink;
    s.st_mode = a.mode;
    s.st_uid = a.uid;
    s.st_gid = a.gid;
    s.st_rdev = a.rdev;
    s.st_size = a.size;
    s.st_blksize = a.blksize;
    s.st_blocks = a.blocks;
    s.st_atime_sec = static_cast<u64>(a.atime.sec);
    s.st_atime_nsec = static_cast<u64>(a.atime.nsec);
    s.st_mtime_sec = static_cast<u64>(a.mtime.sec);
    s.st_mtime_nsec = static_cast<u64>(a.mtime.nsec);
    s.st_ctime_sec = static_cast<u64>(a.ctime.sec);
    s.st_ctime_nsec = static_cast<u64>(a.ctime.nsec);
    return s;
}

abi::StatxTimestamp stx_time(const Timespec& t) { return { t.sec, static_cast<u32>(t.nsec), 0 }; }

// The inode an fd-relative stat names: with AT_EMPTY_PATH and "", the fd's
// own file (which may have no path, like the console).
KResult<RefPtr<Inode>> stat_target(Thread& t, int dirfd, const std::string& path, int flags)
{
    if (path.empty() && (flags & AT_EMPTY_PATH) && dirfd != kAtFdcwd) {
        auto file = TRY(get_file(t, dirfd));
        if (auto d = file->dentry())
            return d->inode_ref();
        return file->inode_ref();
    }
    if (path.empty() && !(flags & AT_EMPTY_PATH))
        return err(Errno::NOENT);
    Follow follow = (flags & AT_SYMLINK_NOFOLLOW) ? Follow::No : Follow::Yes;
    return TRY(lookup_at(t, dirfd, path, follow, flags & AT_EMPTY_PATH))->inode_ref();
}

KResult<u64> stat_to(Thread& t, RefPtr<Inode> inode, GuestAddr buf)
{
    auto attr = TRY(inode->attr());
    TRY(copy_out(t, buf.value, to_stat(attr)));
    return 0;
}

// Linux 6.11+: with AT_EMPTY_PATH the path may be NULL (getname_maybe_null).
KResult<std::string> stat_path(Thread& t, GuestAddr path, int flags)
{
    if (path.null() && (flags & AT_EMPTY_PATH))
        return std::string();
    return copy_path(t, path);
}

} // namespace

KResult<u64> sys_fstat(Thread& t, int fd, GuestAddr buf)
{
    auto file = TRY(get_file(t, fd));
    return stat_to(t, file->dentry() ? file->dentry()->inode_ref() : file->inode_ref(), buf);
}

KResult<u64> sys_newfstatat(Thread& t, int dirfd, GuestAddr path, GuestAddr buf, int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return err(Errno::INVAL);
    auto p = TRY(stat_path(t, path, flags));
    return stat_to(t, TRY(stat_target(t, dirfd, p, flags)), buf);
}

KResult<u64> sys_stat(Thread& t, GuestAddr path, GuestAddr buf) { return sys_newfstatat(t, kAtFdcwd, path, buf, 0); }

KResult<u64> sys_lstat(Thread& t, GuestAddr path, GuestAddr buf)
{
    return sys_newfstatat(t, kAtFdcwd, path, buf, AT_SYMLINK_NOFOLLOW);
}

KResult<u64> sys_statx(Thread& t, int dirfd, GuestAddr path, int flags, u32 mask, GuestAddr buf)
{
    constexpr int kSyncMask = 0x6000; // AT_STATX_SYNC_TYPE
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | kSyncMask))
        return err(Errno::INVAL);
    if ((flags & kSyncMask) == kSyncMask)
        return err(Errno::INVAL);
    if (mask & 0x80000000U) // STATX__RESERVED
        return err(Errno::INVAL);
    auto p = TRY(stat_path(t, path, flags));
    auto inode = TRY(stat_target(t, dirfd, p, flags));
    auto a = TRY(inode->attr());
    abi::Statx s {};
    s.stx_mask = STATX_BASIC_STATS | (a.btime ? STATX_BTIME : 0);
    s.stx_blksize = static_cast<u32>(a.blksize);
    s.stx_nlink = static_cast<u32>(a.nlink);
    s.stx_uid = a.uid;
    s.stx_gid = a.gid;
    s.stx_mode = static_cast<u16>(a.mode);
    s.stx_ino = a.ino;
    s.stx_size = static_cast<u64>(a.size);
    s.stx_blocks = static_cast<u64>(a.blocks);
    s.stx_atime = stx_time(a.atime);
    s.stx_mtime = stx_time(a.mtime);
    s.stx_ctime = stx_time(a.ctime);
    if (a.btime)
        s.stx_btime = stx_time(*a.btime);
    s.stx_rdev_major = major(a.rdev);
    s.stx_rdev_minor = minor(a.rdev);
    s.stx_dev_major = major(a.dev);
    s.stx_dev_minor = minor(a.dev);
    TRY(copy_out(t, buf.value, s));
    return 0;
}

KResult<u64> sys_readlinkat(Thread& t, int dirfd, GuestAddr path, GuestAddr buf, i32 size)
{
    if (size <= 0)
        return err(Errno::INVAL);
    auto p = TRY(copy_path(t, path));
    auto dentry = TRY(lookup_at(t, dirfd, p, Follow::No, true));
    // An empty path reads dirfd's symlink (an O_PATH|O_NOFOLLOW fd); of
    // anything else there is no such file.
    if (p.empty() && !S_ISLNK(TRY(dentry->inode().attr()).mode))
        return err(Errno::NOENT);
    auto target = TRY(dentry->inode().readlink());
    usize n = std::min<usize>(target.size(), static_cast<usize>(size));
    TRY(t.mm().copy_out(buf.value, std::span(reinterpret_cast<const u8*>(target.data()), n)));
    return n;
}

KResult<u64> sys_readlink(Thread& t, GuestAddr path, GuestAddr buf, i32 size)
{
    return sys_readlinkat(t, kAtFdcwd, path, buf, size);
}

KResult<u64> sys_faccessat2(Thread& t, int dirfd, GuestAddr path, int mode, int flags)
{
    if (mode & ~(R_OK | W_OK | X_OK))
        return err(Errno::INVAL);
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return err(Errno::INVAL);
    auto p = TRY(copy_path(t, path));
    Follow follow = (flags & AT_SYMLINK_NOFOLLOW) ? Follow::No : Follow::Yes;
    auto dentry = TRY(lookup_at(t, dirfd, p, follow, flags & AT_EMPTY_PATH));
    if (mode == F_OK)
        return 0;
    auto creds = t.process().creds();
    if (!(flags & AT_EACCESS)) // access(2) checks with the real ids
        creds = creds.for_access();
    auto attr = TRY(dentry->inode().attr());
    int may = (mode & R_OK ? kMayRead : 0) | (mode & W_OK ? kMayWrite : 0) | (mode & X_OK ? kMayExec : 0);
    TRY(check_access(dentry->inode(), attr, creds, may));
    return 0;
}

KResult<u64> sys_faccessat(Thread& t, int dirfd, GuestAddr path, int mode) { return sys_faccessat2(t, dirfd, path, mode, 0); }

KResult<u64> sys_access(Thread& t, GuestAddr path, int mode) { return sys_faccessat2(t, kAtFdcwd, path, mode, 0); }

// statfs(2): the file system's own figures where it has them (tmpfs,
// volumes), else its type and the host's memory as its size.
static KResult<u64> statfs_of(Thread& t, Inode& inode, GuestAddr buf)
{
    struct Statfs {
        i64 f_type, f_bsize;
        u64 f_blocks, f_bfree, f_bavail, f_files, f_ffree;
        i32 f_fsid[2];
        i64 f_namelen, f_frsize, f_flags, f_spare[4];
    };
    static_assert(sizeof(Statfs) == 120);
    auto attr = TRY(inode.attr());
    FsStats fs;
    if (auto own = inode.statfs()) {
        fs = *own;
    } else {
        // By device: umk's proc, sysfs and devtmpfs (a tmpfs), else the
        // overlay of the root.
        fs.type = attr.dev == 0x16 ? 0x9fa0 /* PROC_SUPER_MAGIC */
            : attr.dev == 0x17     ? 0x62656572 /* SYSFS_MAGIC */
            : attr.dev == 0x5      ? 0x01021994 /* TMPFS_MAGIC */
                                   : 0x794c7630; /* OVERLAYFS_SUPER_MAGIC */
        fs.blocks = fs.bfree = fs.bavail = (sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE)) / 4096;
        fs.files = fs.ffree = 1 << 20;
        if (fs.type == 0x9fa0 || fs.type == 0x62656572)
            fs.blocks = fs.bfree = fs.bavail = fs.files = fs.ffree = 0;
    }
    Statfs s {};
    s.f_type = fs.type;
    s.f_bsize = fs.bsize;
    s.f_frsize = fs.bsize;
    s.f_blocks = fs.blocks;
    s.f_bfree = fs.bfree;
    s.f_bavail = fs.bavail;
    s.f_files = fs.files;
    s.f_ffree = fs.ffree;
    s.f_fsid[0] = static_cast<i32>(attr.dev);
    s.f_namelen = fs.namelen;
    TRY(copy_out(t, buf.value, s));
    return 0;
}

KResult<u64> sys_statfs(Thread& t, GuestAddr path, GuestAddr buf)
{
    auto p = TRY(copy_path(t, path));
    auto d = TRY(lookup_at(t, kAtFdcwd, p, Follow::Yes, false));
    return statfs_of(t, d->inode(), buf);
}

KResult<u64> sys_fstatfs(Thread& t, int fd, GuestAddr buf)
{
    auto file = TRY(get_file(t, fd));
    return statfs_of(t, file->inode(), buf);
}

} // namespace umk::kernel
