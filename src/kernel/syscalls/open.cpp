// open(2) family and close(2). Linux: fs/open.c, fs/namei.c do_filp_open.
#include "kernel/syscalls/handlers.h"

#include "kernel/fs/devfs/devfs.h"
#include "kernel/tty/pty.h"
#include "kernel/ipc/pipe.h"
#include "kernel/vfs/notify.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>

namespace umk::kernel {

namespace {

constexpr int kValidOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC
    | O_ASYNC | O_DIRECT | abi::kOLargefile | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH
    | O_TMPFILE;

int may_for(int flags)
{
    int may = 0;
    switch (flags & O_ACCMODE) {
    case O_RDONLY: may = kMayRead; break;
    case O_WRONLY: may = kMayWrite; break;
    default: may = kMayRead | kMayWrite; break;
    }
    if (flags & O_TRUNC)
        may |= kMayWrite;
    return may;
}

// FIFOs, sockets and device nodes in any file system are what their type
// says, not files of it. Devices on a nodev mount do not open (EACCES).
KResult<RefPtr<File>> open_inode(Dentry& dentry, const InodeAttr& attr, int flags)
{
    Inode& inode = dentry.inode();
    if ((S_ISCHR(attr.mode) || S_ISBLK(attr.mode)) && (dentry.mount_flags() & MS_NODEV))
        return err(Errno::ACCES);
    if (S_ISFIFO(attr.mode) && !dynamic_cast<PipeInode*>(&inode))
        return open_fifo(dentry.inode_ref(), flags);
    if (S_ISSOCK(attr.mode))
        return err(Errno::NXIO);
    if ((S_ISCHR(attr.mode) || S_ISBLK(attr.mode)) && !is_devfs(inode) && !is_devpts(inode))
        return open_device(attr.rdev, S_ISBLK(attr.mode), flags);
    return inode.open(flags);
}

// A regular file opened for writing, or with O_TRUNC, takes its write
// access first (ETXTBSY while a process runs it, before anything is
// truncated); the file keeps it if it writes (keep_write_access), as
// Linux's do_dentry_open.
KResult<std::optional<WriteAccess>> write_access_for(Inode& inode, u32 mode, int flags)
{
    if (!S_ISREG(mode) || !(may_for(flags) & kMayWrite))
        return std::optional<WriteAccess>();
    return std::optional<WriteAccess>(TRY(WriteAccess::take(inode)));
}

void keep_write_access(File& file, std::optional<WriteAccess> access)
{
    if (access && file.writable())
        file.hold_write_access(std::move(*access));
}

} // namespace

namespace {

KResult<u64> open_resolving(Thread& t, int dirfd, const std::string& path, int flags, u32 mode, u64 resolve);

// O_TMPFILE: a nameless file in the directory `path` names, shown as
// "DIR/#INO (deleted)"; linkat(AT_EMPTY_PATH) or through /proc/self/fd
// names it unless O_EXCL.
KResult<u64> open_tmpfile(Thread& t, const PathContext& ctx, const std::string& path, int flags, u32 mode, Follow follow)
{
    auto dir = TRY(resolve_path(ctx, path, follow));
    auto attr = TRY(dir->inode().attr());
    if (!S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    TRY(check_access(attr, ctx.creds, kMayWrite | kMayExec));
    TRY(check_mount_writable(dir.get()));
    u32 umask = t.process().fs().umask;
    u32 gid = (attr.mode & S_ISGID) ? attr.gid : ctx.creds.fsgid;
    auto inode = TRY(dir->inode().make_tmpfile(mode & 07777 & ~umask, ctx.creds.fsuid, gid, !(flags & O_EXCL)));
    int open_flags = flags & ~(O_TMPFILE | O_EXCL);
    auto access = TRY(write_access_for(*inode, S_IFREG, open_flags));
    auto file = TRY(inode->open(open_flags));
    keep_write_access(*file, std::move(access));
    std::string where = dir->path();
    file->set_dentry(Dentry::make_detached(inode, fmt::format("{}/#{} (deleted)", where == "/" ? "" : where,
                                                              TRY(inode->attr()).ino)));
    return install_fd(t, file, flags & O_CLOEXEC);
}

} // namespace

KResult<u64> do_open(Thread& t, int dirfd, const std::string& path, int flags, u32 mode)
{
    return open_resolving(t, dirfd, path, flags, mode, 0);
}

namespace {

KResult<u64> open_resolving(Thread& t, int dirfd, const std::string& path, int flags, u32 mode, u64 resolve)
{
    if (flags & ~kValidOpenFlags)
        flags &= kValidOpenFlags; // Linux ignores unknown open flags
    bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
    if (tmpfile && ((flags & O_ACCMODE) == O_RDONLY || (flags & O_CREAT)))
        return err(Errno::INVAL);
    if (flags & O_PATH)
        flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    else
        flags |= abi::kOLargefile;
    if (path.empty())
        return err(Errno::NOENT); // before dirfd is looked at, as Linux's getname
    auto ctx = TRY((resolve & kResolveInRoot) ? dir_context(t, dirfd) : path_context(t, dirfd, path));
    ctx.resolve = resolve;
    if (resolve & kResolveInRoot)
        ctx.root = ctx.start;
    Follow follow = (flags & O_NOFOLLOW) ? Follow::No : Follow::Yes;

    if (tmpfile)
        return open_tmpfile(t, ctx, path, flags, mode, follow);
    RefPtr<Dentry> dentry;
    if (flags & O_CREAT) {
        auto existing = resolve_path(ctx, path, (flags & O_EXCL) ? Follow::No : follow);
        if (existing) {
            if (flags & O_EXCL)
                return err(Errno::EXIST);
            dentry = *existing;
        } else if (existing.error() == Errno::NOENT) {
            auto pn = TRY(resolve_parent(ctx, path));
            if (pn.trailing_slash || pn.name == "." || pn.name == "..")
                return err(Errno::ISDIR);
            auto parent_attr = TRY(pn.parent->inode().attr());
            TRY(check_access(parent_attr, ctx.creds, kMayWrite | kMayExec));
            TRY(check_mount_writable(pn.parent.get()));
            u32 umask = t.process().fs().umask;
            u32 gid = (parent_attr.mode & S_ISGID) ? parent_attr.gid : ctx.creds.fsgid;
            auto inode = TRY(pn.parent->inode().create(pn.name, S_IFREG | (mode & 07777 & ~umask), ctx.creds.fsuid, gid));
            dentry = pn.parent->add_child(pn.name, inode);
            flags &= ~O_TRUNC; // new and empty; no write permission needed on it
            auto access = TRY(write_access_for(*inode, S_IFREG, flags));
            auto file = TRY(inode->open(flags));
            keep_write_access(*file, std::move(access));
            file->set_dentry(dentry);
            fsnotify_dir(*pn.parent, pn.name, IN_CREATE);
            fsnotify_dentry(*dentry, IN_OPEN);
            return install_fd(t, file, flags & O_CLOEXEC);
        } else {
            return err(existing.error());
        }
    } else {
        dentry = TRY(resolve_path(ctx, path, follow));
    }

    auto attr = TRY(dentry->inode().attr());
    if (S_ISLNK(attr.mode) && !(flags & O_PATH))
        return err(Errno::LOOP);
    if ((flags & O_DIRECTORY) && !S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    if (flags & O_PATH) {
        auto file = make_ref<File>(dentry->inode_ref(), flags);
        file->set_dentry(dentry);
        return install_fd(t, RefPtr<File>(file), flags & O_CLOEXEC);
    }
    if (S_ISDIR(attr.mode) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)))
        return err(Errno::ISDIR);
    TRY(check_access(dentry->inode(), attr, ctx.creds, may_for(flags)));
    if ((may_for(flags) & kMayWrite) && (S_ISREG(attr.mode) || S_ISDIR(attr.mode)))
        TRY(check_mount_writable(dentry.get())); // devices and FIFOs write elsewhere
    if ((flags & O_TRUNC) && !S_ISREG(attr.mode))
        flags &= ~O_TRUNC;
    auto access = TRY(write_access_for(dentry->inode(), attr.mode, flags));
    auto file = TRY(open_inode(*dentry, attr, flags));
    keep_write_access(*file, std::move(access));
    file->set_dentry(dentry);
    if (flags & O_TRUNC)
        fsnotify_dentry(*dentry, IN_MODIFY);
    fsnotify_dentry(*dentry, IN_OPEN);
    return install_fd(t, file, flags & O_CLOEXEC);
}

} // namespace

KResult<u64> sys_openat(Thread& t, int dirfd, GuestAddr path, int flags, u32 mode)
{
    return do_open(t, dirfd, TRY(copy_path(t, path)), flags, mode);
}

// openat2(2): open with struct open_how, strict about flags and mode, and
// the RESOLVE_* scoping of the path walk.
KResult<u64> sys_openat2(Thread& t, int dirfd, GuestAddr path, GuestAddr how_addr, u64 size)
{
    struct OpenHow {
        u64 flags, mode, resolve;
    } how {};
    if (size < sizeof how)
        return err(Errno::INVAL);
    if (size > 4096)
        return err(Errno::TOOBIG); // E2BIG: larger than a page
    TRY(t.mm().copy_in(how_addr.value, std::span(reinterpret_cast<u8*>(&how), sizeof how)));
    // A newer struct: what we do not know must be zero (copy_struct_from_user).
    for (u64 at = sizeof how; at < size; at += 8) {
        u8 rest[8] {};
        usize n = std::min<u64>(8, size - at);
        TRY(t.mm().copy_in(how_addr.value + at, std::span(rest, n)));
        for (usize i = 0; i < n; i++)
            if (rest[i])
                return err(Errno::TOOBIG);
    }
    constexpr u64 kResolveAll = kResolveNoXdev | kResolveNoMagiclinks | kResolveNoSymlinks | kResolveBeneath
        | kResolveInRoot | kResolveCached;
    if (how.flags & ~static_cast<u64>(static_cast<u32>(kValidOpenFlags)))
        return err(Errno::INVAL);
    bool creating = (how.flags & O_CREAT) || (how.flags & O_TMPFILE) == O_TMPFILE;
    if ((how.mode & ~07777ULL) || (!creating && how.mode))
        return err(Errno::INVAL);
    if ((how.flags & O_PATH) && (how.flags & ~static_cast<u64>(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)))
        return err(Errno::INVAL);
    if (how.resolve & ~kResolveAll)
        return err(Errno::INVAL);
    if ((how.resolve & kResolveBeneath) && (how.resolve & kResolveInRoot))
        return err(Errno::INVAL);
    if ((how.resolve & kResolveCached) && (how.flags & (O_CREAT | O_TRUNC | O_TMPFILE)))
        return err(Errno::AGAIN);
    // RESOLVE_CACHED asks for a walk without I/O: umk's never waits on any.
    return open_resolving(t, dirfd, TRY(copy_path(t, path)), static_cast<int>(how.flags), static_cast<u32>(how.mode),
                          how.resolve & ~kResolveCached);
}

KResult<u64> sys_open(Thread& t, GuestAddr path, int flags, u32 mode) { return sys_openat(t, kAtFdcwd, path, flags, mode); }

KResult<u64> sys_creat(Thread& t, GuestAddr path, u32 mode)
{
    return sys_openat(t, kAtFdcwd, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

KResult<u64> sys_close(Thread& t, int fd)
{
    TRY(t.fds().close(fd));
    return 0;
}

KResult<u64> sys_close_range(Thread& t, u32 first, u32 last, u32 flags)
{
    constexpr u32 kCloseRangeUnshare = 2, kCloseRangeCloexec = 4;
    if (flags & ~(kCloseRangeUnshare | kCloseRangeCloexec) || first > last)
        return err(Errno::INVAL);
    for (auto& [fd, entry] : t.fds().snapshot()) {
        if (static_cast<u32>(fd) < first || static_cast<u32>(fd) > last)
            continue;
        if (flags & kCloseRangeCloexec)
            (void)t.fds().set_cloexec(fd, true);
        else
            (void)t.fds().close(fd);
    }
    return 0;
}

} // namespace umk::kernel
