// Extended attributes (xattr(7)). Linux: fs/xattr.c. What a namespace
// allows is checked here (Linux's xattr_permission and the capability
// hooks); the file systems keep the values (tmpfs and the overlay's upper
// layer; the lower host files read through).
#include "kernel/syscalls/handlers.h"

#include "kernel/vfs/notify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/inotify.h>
#include <sys/xattr.h>

namespace umk::kernel {

namespace {

constexpr usize kNameMax = 255;     // XATTR_NAME_MAX
constexpr usize kSizeMax = 65536;   // XATTR_SIZE_MAX
constexpr usize kListMax = 65536;   // XATTR_LIST_MAX

KResult<std::string> copy_name(Thread& t, GuestAddr name)
{
    auto n = t.mm().copy_in_string(name.value, kNameMax + 1);
    if (!n)
        return err(n.error() == Errno::NAMETOOLONG ? Errno::RANGE : n.error());
    if (n->empty() || n->size() > kNameMax)
        return err(Errno::RANGE);
    return *n;
}

// An xattr call's file: its inode, and its dentry when it has a path
// (for read-only mounts).
struct Target {
    RefPtr<Inode> inode;
    RefPtr<Dentry> dentry;
    Inode& operator*() const { return *inode; }
};

KResult<Target> path_inode(Thread& t, GuestAddr path, Follow follow)
{
    auto p = TRY(copy_path(t, path));
    auto d = TRY(lookup_at(t, kAtFdcwd, p, follow, false));
    return Target { d->inode_ref(), d };
}

KResult<Target> fd_inode(Thread& t, int fd)
{
    auto file = TRY(get_file(t, fd));
    if (file->flags() & O_PATH)
        return err(Errno::BADF);
    if (auto d = file->dentry())
        return Target { d->inode_ref(), d };
    return Target { file->inode_ref(), nullptr };
}

// Linux's xattr_permission (and cap_inode_setxattr for security.*).
KResult<void> check_permission(Thread& t, Inode& inode, std::string_view name, bool write)
{
    auto creds = t.process().creds();
    if (name.starts_with("trusted.")) {
        if (!creds.has(kCapSysAdmin))
            return err(write ? Errno::PERM : Errno::NODATA);
        return {};
    }
    if (name.starts_with("security.")) {
        if (write && !creds.has(name == "security.capability" ? kCapSetfcap : kCapSysAdmin))
            return err(Errno::PERM);
        return {};
    }
    if (!name.starts_with("user.") && !name.starts_with("system."))
        return err(Errno::OPNOTSUPP);
    auto attr = TRY(inode.attr());
    if (name.starts_with("user.")) {
        if (!S_ISREG(attr.mode) && !S_ISDIR(attr.mode))
            return err(write ? Errno::PERM : Errno::NODATA);
        if (S_ISDIR(attr.mode) && (attr.mode & S_ISVTX) && write && creds.fsuid != attr.uid && !creds.has(kCapFowner))
            return err(Errno::PERM);
    }
    return check_access(attr, creds, write ? kMayWrite : kMayRead);
}

KResult<u64> get(Thread& t, Inode& inode, GuestAddr name_ptr, GuestAddr value, u64 size)
{
    auto name = TRY(copy_name(t, name_ptr));
    TRY(check_permission(t, inode, name, false));
    auto v = TRY(inode.get_xattr(name));
    if (size == 0)
        return v.size();
    if (size < v.size())
        return err(Errno::RANGE);
    TRY(t.mm().copy_out(value.value, v));
    return v.size();
}

KResult<u64> set(Thread& t, const Target& target, GuestAddr name_ptr, GuestAddr value, u64 size, int flags)
{
    Inode& inode = *target;
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return err(Errno::INVAL);
    auto name = TRY(copy_name(t, name_ptr));
    if (size > kSizeMax)
        return err(Errno::TOOBIG);
    std::vector<u8> v(size);
    if (size)
        TRY(t.mm().copy_in(value.value, v));
    TRY(check_permission(t, inode, name, true));
    TRY(check_mount_writable(target.dentry.get()));
    TRY(inode.set_xattr(name, v, flags));
    fsnotify(inode, nullptr, {}, IN_ATTRIB);
    return 0;
}

KResult<u64> list(Thread& t, Inode& inode, GuestAddr out, u64 size)
{
    auto names = TRY(inode.list_xattrs());
    bool admin = t.process().creds().has(kCapSysAdmin);
    std::vector<u8> all;
    for (auto& n : names) {
        if (n.starts_with("trusted.") && !admin)
            continue; // hidden from the unprivileged, as on Linux
        all.insert(all.end(), n.begin(), n.end());
        all.push_back(0);
    }
    if (all.size() > kListMax)
        return err(Errno::TOOBIG);
    if (size == 0)
        return all.size();
    if (size < all.size())
        return err(Errno::RANGE);
    TRY(t.mm().copy_out(out.value, all));
    return all.size();
}

KResult<u64> remove(Thread& t, const Target& target, GuestAddr name_ptr)
{
    Inode& inode = *target;
    auto name = TRY(copy_name(t, name_ptr));
    TRY(check_permission(t, inode, name, true));
    TRY(check_mount_writable(target.dentry.get()));
    TRY(inode.remove_xattr(name));
    fsnotify(inode, nullptr, {}, IN_ATTRIB);
    return 0;
}

} // namespace

KResult<u64> sys_getxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr value, u64 size)
{
    return get(t, *TRY(path_inode(t, path, Follow::Yes)), name, value, size);
}

KResult<u64> sys_lgetxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr value, u64 size)
{
    return get(t, *TRY(path_inode(t, path, Follow::No)), name, value, size);
}

KResult<u64> sys_fgetxattr(Thread& t, int fd, GuestAddr name, GuestAddr value, u64 size)
{
    return get(t, *TRY(fd_inode(t, fd)), name, value, size);
}

KResult<u64> sys_setxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr value, u64 size, int flags)
{
    return set(t, TRY(path_inode(t, path, Follow::Yes)), name, value, size, flags);
}

KResult<u64> sys_lsetxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr value, u64 size, int flags)
{
    return set(t, TRY(path_inode(t, path, Follow::No)), name, value, size, flags);
}

KResult<u64> sys_fsetxattr(Thread& t, int fd, GuestAddr name, GuestAddr value, u64 size, int flags)
{
    return set(t, TRY(fd_inode(t, fd)), name, value, size, flags);
}

KResult<u64> sys_listxattr(Thread& t, GuestAddr path, GuestAddr out, u64 size)
{
    return list(t, *TRY(path_inode(t, path, Follow::Yes)), out, size);
}

KResult<u64> sys_llistxattr(Thread& t, GuestAddr path, GuestAddr out, u64 size)
{
    return list(t, *TRY(path_inode(t, path, Follow::No)), out, size);
}

KResult<u64> sys_flistxattr(Thread& t, int fd, GuestAddr out, u64 size)
{
    return list(t, *TRY(fd_inode(t, fd)), out, size);
}

KResult<u64> sys_removexattr(Thread& t, GuestAddr path, GuestAddr name)
{
    return remove(t, TRY(path_inode(t, path, Follow::Yes)), name);
}

KResult<u64> sys_lremovexattr(Thread& t, GuestAddr path, GuestAddr name)
{
    return remove(t, TRY(path_inode(t, path, Follow::No)), name);
}

KResult<u64> sys_fremovexattr(Thread& t, int fd, GuestAddr name)
{
    return remove(t, TRY(fd_inode(t, fd)), name);
}

} // namespace umk::kernel
