// Calls that create, remove, rename or change names and their inodes.
// Linux: fs/namei.c (mkdir, unlink, rmdir, rename, symlink, link),
// fs/open.c (chmod, chown, truncate), fs/utimes.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/vfs/notify.h"

#include "kernel/fs/tmpfs/tmpfs.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace umk::kernel {

namespace {

bool is_dot(const std::string& name) { return name == "." || name == ".."; }

// The parent of the last component, checked for write and search access.
KResult<ParentAndName> writable_parent(Thread& t, int dirfd, const std::string& path)
{
    auto ctx = TRY(path_context(t, dirfd, path));
    auto pn = TRY(resolve_parent(ctx, path));
    auto attr = TRY(pn.parent->inode().attr());
    TRY(check_access(attr, ctx.creds, kMayWrite | kMayExec));
    TRY(check_mount_writable(pn.parent.get()));
    return pn;
}

// Linux's check_sticky (may_delete): in a sticky directory only the
// file's owner, the directory's owner or CAP_FOWNER may remove or replace
// an entry.
KResult<void> check_sticky(Thread& t, const ParentAndName& pn, const InodeAttr& child)
{
    auto dir = TRY(pn.parent->inode().attr());
    if (!(dir.mode & S_ISVTX))
        return {};
    auto creds = t.process().creds();
    if (creds.fsuid == child.uid || creds.fsuid == dir.uid || creds.has(kCapFowner))
        return {};
    return err(Errno::PERM);
}

// A name about to be created must not exist yet (EEXIST before EACCES, as
// Linux's filename_create looks up first).
KResult<void> check_absent(const ParentAndName& pn)
{
    if (is_dot(pn.name))
        return err(Errno::EXIST);
    auto existing = pn.parent->child(pn.name);
    if (existing)
        return err(Errno::EXIST);
    if (existing.error() != Errno::NOENT)
        return err(existing.error());
    return {};
}

// A mount point (Linux's is_local_mountpoint): `d`, named `name` in
// `parent`, or that name of that directory in another tree of a bind
// (looked for only where a bind made other trees).
bool busy_mountpoint(Thread& t, const Dentry& parent, std::string_view name, const Dentry& d)
{
    return d.mounted()
        || (Dentry::fs_aliased(parent.inode().fs_id()) && t.kernel().is_mountpoint(parent.inode(), name, d.inode()));
}

KResult<u64> do_unlink(Thread& t, int dirfd, const std::string& path)
{
    auto pn = TRY(writable_parent(t, dirfd, path));
    if (is_dot(pn.name))
        return err(Errno::ISDIR);
    auto child = TRY(pn.parent->child(pn.name));
    auto attr = TRY(child->inode().attr());
    TRY(check_sticky(t, pn, attr));
    if (S_ISDIR(attr.mode))
        return err(Errno::ISDIR);
    if (pn.trailing_slash)
        return err(Errno::NOTDIR);
    if (busy_mountpoint(t, *pn.parent, pn.name, *child))
        return err(Errno::BUSY);
    TRY(pn.parent->inode().unlink(pn.name));
    pn.parent->forget_child(pn.name);
    child->mark_deleted();
    // The inode: one link fewer, gone with the last; then the directory.
    fsnotify(child->inode(), nullptr, {}, IN_ATTRIB);
    if (auto after = child->inode().attr(); after && after->nlink == 0)
        fsnotify(child->inode(), nullptr, {}, IN_DELETE_SELF);
    fsnotify_dir(*pn.parent, pn.name, IN_DELETE);
    return 0;
}

KResult<u64> do_rmdir(Thread& t, int dirfd, const std::string& path)
{
    auto pn = TRY(writable_parent(t, dirfd, path));
    if (pn.name == ".")
        return err(Errno::INVAL);
    if (pn.name == "..")
        return err(Errno::NOTEMPTY);
    auto child = TRY(pn.parent->child(pn.name));
    auto attr = TRY(child->inode().attr());
    TRY(check_sticky(t, pn, attr));
    if (!S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    if (busy_mountpoint(t, *pn.parent, pn.name, *child) || child == t.process().fs().root)
        return err(Errno::BUSY);
    TRY(pn.parent->inode().rmdir(pn.name));
    pn.parent->forget_child(pn.name);
    child->mark_deleted();
    fsnotify(child->inode(), nullptr, {}, IN_DELETE_SELF);
    fsnotify_dir(*pn.parent, pn.name, IN_DELETE | IN_ISDIR);
    return 0;
}

// A mount below `dir` in its dentry tree (a cached mount point), with its
// path below `dir`: it moves along when `dir` is renamed (Linux's d_move
// keeps it; here the dentries do not move, the mounts are put again).
struct Submount {
    std::vector<std::string> path;
    RefPtr<Dentry> mountpoint;
};

void collect_submounts(const Dentry& dir, std::vector<std::string>& path, std::vector<Submount>& out)
{
    for (auto& [name, child] : dir.cached_children()) {
        path.push_back(name);
        if (child->mounted())
            out.push_back({ path, child });
        collect_submounts(*child, path, out); // under it, covered or not
        path.pop_back();
    }
}

// After `moved` (the renamed directory's new dentry) took the place of
// the old one: each mount below the old one goes to the same path below
// the new one.
void remount_below(Kernel& k, const RefPtr<Dentry>& moved, const std::vector<Submount>& submounts)
{
    for (auto& s : submounts) {
        RefPtr<Dentry> at = moved;
        bool found = true;
        for (auto& name : s.path) {
            auto next = at->child(name);
            if (!next) {
                found = false;
                break;
            }
            at = *next;
        }
        auto root = s.mountpoint->mounted();
        if (!root || !found)
            continue; // gone meanwhile: the mount stays where it was
        s.mountpoint->unmount();
        at->mount(root);
    }
    if (!submounts.empty())
        k.recompute_mount_paths();
}

bool is_ancestor(const RefPtr<Dentry>& ancestor, RefPtr<Dentry> d)
{
    for (; d; d = d->parent())
        if (d == ancestor)
            return true;
    return false;
}

// Only the owner (or CAP_FOWNER) may change an inode's mode, times or owner.
KResult<void> check_owner(Thread& t, const InodeAttr& attr)
{
    auto creds = t.process().creds();
    if (!creds.has(kCapFowner) && creds.fsuid != attr.uid)
        return err(Errno::PERM);
    return {};
}

// A file a call changes: its inode, and its name where it has one (for
// inotify's directory watches).
struct Named {
    RefPtr<Inode> inode;
    RefPtr<Dentry> dentry; // null for a file without a path
    Inode* operator->() const { return inode.get(); }
    Inode& operator*() const { return *inode; }
};

void notify(const Named& n, u32 mask)
{
    if (n.dentry)
        fsnotify_dentry(*n.dentry, mask);
    else
        fsnotify(*n.inode, nullptr, {}, mask);
}

// The inode a file descriptor names, as its path would (the overlay
// inode, so that changes copy up).
KResult<Named> inode_of_fd(Thread& t, int fd)
{
    auto file = TRY(get_file(t, fd));
    if (auto d = file->dentry())
        return Named { d->inode_ref(), d };
    return Named { file->inode_ref(), nullptr };
}

KResult<Named> inode_at(Thread& t, int dirfd, GuestAddr path, int flags, int allowed)
{
    if (flags & ~allowed)
        return err(Errno::INVAL);
    auto p = TRY(copy_path(t, path));
    if (p.empty() && (flags & AT_EMPTY_PATH) && dirfd != kAtFdcwd)
        return inode_of_fd(t, dirfd);
    Follow follow = (flags & AT_SYMLINK_NOFOLLOW) ? Follow::No : Follow::Yes;
    auto d = TRY(lookup_at(t, dirfd, p, follow, flags & AT_EMPTY_PATH));
    return Named { d->inode_ref(), d };
}

KResult<u64> change_mode(Thread& t, const Named& target, u32 mode)
{
    Inode& inode = *target;
    auto attr = TRY(inode.attr());
    TRY(check_owner(t, attr));
    TRY(check_mount_writable(target.dentry.get()));
    auto creds = t.process().creds();
    // Linux clears set-group-ID when the caller is not in the file's group
    // (and lacks CAP_FSETID).
    if (!creds.has(kCapFsetid) && !creds.in_group(attr.gid))
        mode &= ~S_ISGID;
    TRY(inode.chmod(mode & 07777));
    notify(target, IN_ATTRIB);
    return 0;
}

KResult<u64> change_owner(Thread& t, const Named& target, u32 uid, u32 gid)
{
    Inode& inode = *target;
    auto attr = TRY(inode.attr());
    TRY(check_mount_writable(target.dentry.get()));
    auto creds = t.process().creds();
    if (!creds.has(kCapChown)) {
        // Without CAP_CHOWN: no change of owner; the group only to one of ours.
        if (uid != ~0U && uid != attr.uid)
            return err(Errno::PERM);
        if (creds.fsuid != attr.uid || (gid != ~0U && gid != attr.gid && !creds.in_group(gid)))
            return err(Errno::PERM);
    }
    TRY(inode.chown(uid, gid));
    // A change of owner clears set-user-ID and set-group-ID on files.
    if (!S_ISDIR(attr.mode) && (attr.mode & (S_ISUID | S_ISGID)) && (uid != ~0U || gid != ~0U))
        TRY(inode.chmod(attr.mode & 07777 & ~(S_ISUID | ((attr.mode & S_IXGRP) ? S_ISGID : 0))));
    notify(target, IN_ATTRIB);
    return 0;
}

KResult<u64> truncate_inode(const Named& target, i64 length)
{
    Inode& inode = *target;
    if (length < 0)
        return err(Errno::INVAL);
    auto attr = TRY(inode.attr());
    if (S_ISDIR(attr.mode))
        return err(Errno::ISDIR);
    if (!S_ISREG(attr.mode))
        return err(Errno::INVAL);
    TRY(check_mount_writable(target.dentry.get()));
    TRY(inode.truncate(static_cast<u64>(length)));
    notify(target, IN_MODIFY);
    return 0;
}

} // namespace

KResult<ParentAndName> parent_for_create(Thread& t, int dirfd, const std::string& path)
{
    auto ctx = TRY(path_context(t, dirfd, path));
    auto pn = TRY(resolve_parent(ctx, path));
    TRY(check_absent(pn));
    auto attr = TRY(pn.parent->inode().attr());
    TRY(check_access(attr, ctx.creds, kMayWrite | kMayExec));
    TRY(check_mount_writable(pn.parent.get()));
    return pn;
}

// The group of a new inode: the directory's where it is set-group-ID.
u32 new_gid(Thread& t, const ParentAndName& pn)
{
    auto attr = pn.parent->inode().attr();
    if (attr && (attr->mode & S_ISGID))
        return attr->gid;
    return t.process().creds().fsgid;
}


KResult<u64> sys_mkdirat(Thread& t, int dirfd, GuestAddr path, u32 mode)
{
    auto p = TRY(copy_path(t, path));
    auto pn = TRY(parent_for_create(t, dirfd, p));
    auto creds = t.process().creds();
    u32 umask = t.process().fs().umask;
    auto inode = TRY(pn.parent->inode().mkdir(pn.name, mode & 07777 & ~umask, creds.fsuid, new_gid(t, pn)));
    pn.parent->add_child(pn.name, inode);
    fsnotify_dir(*pn.parent, pn.name, IN_CREATE | IN_ISDIR);
    return 0;
}

KResult<u64> sys_mkdir(Thread& t, GuestAddr path, u32 mode) { return sys_mkdirat(t, kAtFdcwd, path, mode); }

// mknod(2): regular files, FIFOs, sockets, and device nodes with
// CAP_MKNOD (a 0/0 character device, overlayfs's whiteout, without).
// Opening a device node reaches umk's device of that number (devfs).
KResult<u64> sys_mknodat(Thread& t, int dirfd, GuestAddr path, u32 mode, u32 dev)
{
    u32 type = mode & S_IFMT;
    if (type == 0)
        type = S_IFREG;
    if (type == S_IFDIR)
        return err(Errno::PERM);
    if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
        return err(Errno::INVAL);
    // new_decode_dev: the 32-bit form of the syscall's argument
    u32 major_no = (dev & 0xfff00) >> 8;
    u32 minor_no = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    u64 rdev = (type == S_IFCHR || type == S_IFBLK) ? makedev(major_no, minor_no) : 0;
    bool whiteout = type == S_IFCHR && rdev == 0;
    if ((type == S_IFCHR || type == S_IFBLK) && !whiteout && !t.process().creds().has(kCapMknod))
        return err(Errno::PERM);
    auto p = TRY(copy_path(t, path));
    auto pn = TRY(parent_for_create(t, dirfd, p));
    auto creds = t.process().creds();
    u32 umask = t.process().fs().umask;
    auto inode = TRY(pn.parent->inode().mknod(pn.name, type | (mode & 07777 & ~umask), rdev, creds.fsuid, new_gid(t, pn)));
    pn.parent->add_child(pn.name, inode);
    fsnotify_dir(*pn.parent, pn.name, IN_CREATE);
    return 0;
}

KResult<u64> sys_mknod(Thread& t, GuestAddr path, u32 mode, u32 dev) { return sys_mknodat(t, kAtFdcwd, path, mode, dev); }

KResult<u64> sys_unlinkat(Thread& t, int dirfd, GuestAddr path, int flags)
{
    if (flags & ~AT_REMOVEDIR)
        return err(Errno::INVAL);
    auto p = TRY(copy_path(t, path));
    return (flags & AT_REMOVEDIR) ? do_rmdir(t, dirfd, p) : do_unlink(t, dirfd, p);
}

KResult<u64> sys_unlink(Thread& t, GuestAddr path) { return do_unlink(t, kAtFdcwd, TRY(copy_path(t, path))); }

KResult<u64> sys_rmdir(Thread& t, GuestAddr path) { return do_rmdir(t, kAtFdcwd, TRY(copy_path(t, path))); }

// renameat2(RENAME_EXCHANGE): both names exist and swap; neither may be
// an ancestor of the other's new place.
static KResult<u64> exchange(Thread& t, ParentAndName& from, ParentAndName& to)
{
    if (is_dot(from.name) || is_dot(to.name))
        return err(Errno::BUSY);
    auto a = TRY(from.parent->child(from.name));
    auto b = TRY(to.parent->child(to.name));
    auto a_attr = TRY(a->inode().attr());
    auto b_attr = TRY(b->inode().attr());
    TRY(check_sticky(t, from, a_attr));
    TRY(check_sticky(t, to, b_attr));
    if ((!S_ISDIR(a_attr.mode) || !S_ISDIR(b_attr.mode)) && (from.trailing_slash || to.trailing_slash))
        return err(Errno::NOTDIR);
    if (from.parent->mount_root() != to.parent->mount_root() || from.parent->inode().fs_id() != to.parent->inode().fs_id())
        return err(Errno::XDEV);
    if (a == b)
        return 0;
    if ((S_ISDIR(a_attr.mode) && is_ancestor(a, to.parent)) || (S_ISDIR(b_attr.mode) && is_ancestor(b, from.parent)))
        return err(Errno::INVAL);
    if (busy_mountpoint(t, *from.parent, from.name, *a) || busy_mountpoint(t, *to.parent, to.name, *b)
        || a->has_submounts() || b->has_submounts())
        return err(Errno::BUSY);
    TRY(from.parent->inode().exchange(from.name, to.parent->inode(), to.name));
    from.parent->forget_child(from.name);
    to.parent->forget_child(to.name);
    u32 cookie = fsnotify_cookie();
    fsnotify_dir(*from.parent, from.name, IN_MOVED_FROM | (S_ISDIR(a_attr.mode) ? IN_ISDIR : 0), cookie);
    fsnotify_dir(*to.parent, to.name, IN_MOVED_TO | (S_ISDIR(a_attr.mode) ? IN_ISDIR : 0), cookie);
    u32 cookie2 = fsnotify_cookie();
    fsnotify_dir(*to.parent, to.name, IN_MOVED_FROM | (S_ISDIR(b_attr.mode) ? IN_ISDIR : 0), cookie2);
    fsnotify_dir(*from.parent, from.name, IN_MOVED_TO | (S_ISDIR(b_attr.mode) ? IN_ISDIR : 0), cookie2);
    return 0;
}

KResult<u64> sys_renameat2(Thread& t, int olddirfd, GuestAddr oldpath, int newdirfd, GuestAddr newpath, u32 flags)
{
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return err(Errno::INVAL);
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
        return err(Errno::INVAL);
    if ((flags & RENAME_WHITEOUT) && (flags & RENAME_EXCHANGE))
        return err(Errno::INVAL);
    if (flags & RENAME_WHITEOUT) {
        t.kernel().log_once("renameat2 whiteout", "renameat2: RENAME_WHITEOUT not supported: EINVAL");
        return err(Errno::INVAL);
    }
    auto old_path = TRY(copy_path(t, oldpath));
    auto new_path = TRY(copy_path(t, newpath));
    // One rename at a time, from the walks to the move: the "not below
    // itself" check must see the tree the move changes (Linux's
    // s_vfs_rename_mutex).
    static std::mutex rename_lock;
    std::lock_guard serialized(rename_lock);
    auto from = TRY(writable_parent(t, olddirfd, old_path));
    auto to = TRY(writable_parent(t, newdirfd, new_path));
    if (flags & RENAME_EXCHANGE)
        return exchange(t, from, to);
    if (is_dot(from.name) || is_dot(to.name))
        return err(Errno::BUSY);
    auto source = TRY(from.parent->child(from.name));
    auto source_attr = TRY(source->inode().attr());
    TRY(check_sticky(t, from, source_attr));
    if (!S_ISDIR(source_attr.mode) && (from.trailing_slash || to.trailing_slash))
        return err(Errno::NOTDIR);
    if (from.parent->mount_root() != to.parent->mount_root() || from.parent->inode().fs_id() != to.parent->inode().fs_id())
        return err(Errno::XDEV);
    auto target = to.parent->child(to.name);
    if (target) {
        if (flags & RENAME_NOREPLACE)
            return err(Errno::EXIST);
        if (*target == source)
            return 0;
        if (busy_mountpoint(t, *to.parent, to.name, **target))
            return err(Errno::BUSY);
        TRY(check_sticky(t, to, TRY((*target)->inode().attr())));
    } else if (target.error() != Errno::NOENT) {
        return err(target.error());
    }
    // A directory cannot move below itself.
    if (S_ISDIR(source_attr.mode) && is_ancestor(source, to.parent))
        return err(Errno::INVAL);
    // Mounts below the directory in this tree move along with it; below
    // it in another tree of a bind they would be lost: EBUSY there.
    if (busy_mountpoint(t, *from.parent, from.name, *source)
        || (S_ISDIR(source_attr.mode) && Dentry::fs_aliased(source->inode().fs_id())
            && t.kernel().mounted_below_elsewhere(source->inode(), *source)))
        return err(Errno::BUSY);
    std::vector<Submount> submounts;
    std::vector<std::string> below;
    collect_submounts(*source, below, submounts);
    TRY(from.parent->inode().rename(from.name, to.parent->inode(), to.name));
    from.parent->forget_child(from.name);
    to.parent->forget_child(to.name);
    if (!submounts.empty())
        if (auto moved = to.parent->child(to.name))
            remount_below(t.kernel(), *moved, submounts);
    if (target)
        (*target)->mark_deleted(); // replaced
    u32 cookie = fsnotify_cookie();
    u32 isdir = S_ISDIR(source_attr.mode) ? IN_ISDIR : 0;
    fsnotify_dir(*from.parent, from.name, IN_MOVED_FROM | isdir, cookie);
    fsnotify_dir(*to.parent, to.name, IN_MOVED_TO | isdir, cookie);
    fsnotify(source->inode(), nullptr, {}, IN_MOVE_SELF);
    if (target)
        fsnotify((*target)->inode(), nullptr, {}, IN_DELETE_SELF);
    return 0;
}

KResult<u64> sys_renameat(Thread& t, int olddirfd, GuestAddr oldpath, int newdirfd, GuestAddr newpath)
{
    return sys_renameat2(t, olddirfd, oldpath, newdirfd, newpath, 0);
}

KResult<u64> sys_rename(Thread& t, GuestAddr oldpath, GuestAddr newpath)
{
    return sys_renameat2(t, kAtFdcwd, oldpath, kAtFdcwd, newpath, 0);
}

KResult<u64> sys_symlinkat(Thread& t, GuestAddr target, int newdirfd, GuestAddr linkpath)
{
    auto contents = TRY(copy_path(t, target));
    if (contents.empty())
        return err(Errno::NOENT);
    auto pn = TRY(parent_for_create(t, newdirfd, TRY(copy_path(t, linkpath))));
    auto inode = TRY(pn.parent->inode().symlink(pn.name, contents, t.process().creds().fsuid, new_gid(t, pn)));
    pn.parent->add_child(pn.name, inode);
    fsnotify_dir(*pn.parent, pn.name, IN_CREATE);
    return 0;
}

KResult<u64> sys_symlink(Thread& t, GuestAddr target, GuestAddr linkpath)
{
    return sys_symlinkat(t, target, kAtFdcwd, linkpath);
}

KResult<u64> sys_linkat(Thread& t, int olddirfd, GuestAddr oldpath, int newdirfd, GuestAddr newpath, int flags)
{
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return err(Errno::INVAL);
    auto old = TRY(copy_path(t, oldpath));
    Follow follow = (flags & AT_SYMLINK_FOLLOW) ? Follow::Yes : Follow::No;
    auto source = TRY(lookup_at(t, olddirfd, old, follow, flags & AT_EMPTY_PATH));
    auto pn = TRY(parent_for_create(t, newdirfd, TRY(copy_path(t, newpath))));
    auto attr = TRY(source->inode().attr());
    if (S_ISDIR(attr.mode))
        return err(Errno::PERM);
    // (A nameless file, O_TMPFILE or unlinked, has a detached dentry: the
    // file system alone decides.)
    bool detached = source->detached() || source->deleted();
    if ((!detached && source->mount_root() != pn.parent->mount_root()) || source->inode().fs_id() != pn.parent->inode().fs_id())
        return err(Errno::XDEV);
    TRY(pn.parent->inode().link(source->inode(), pn.name));
    pn.parent->forget_child(pn.name); // looked up afresh: the name now exists
    fsnotify(source->inode(), nullptr, {}, IN_ATTRIB); // one link more
    fsnotify_dir(*pn.parent, pn.name, IN_CREATE);
    return 0;
}

KResult<u64> sys_link(Thread& t, GuestAddr oldpath, GuestAddr newpath)
{
    return sys_linkat(t, kAtFdcwd, oldpath, kAtFdcwd, newpath, 0);
}

KResult<u64> sys_fchmodat2(Thread& t, int dirfd, GuestAddr path, u32 mode, int flags)
{
    auto inode = TRY(inode_at(t, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
    auto attr = TRY(inode->attr());
    if (S_ISLNK(attr.mode))
        return err(Errno::OPNOTSUPP);
    return change_mode(t, inode, mode);
}

KResult<u64> sys_fchmodat(Thread& t, int dirfd, GuestAddr path, u32 mode) { return sys_fchmodat2(t, dirfd, path, mode, 0); }

KResult<u64> sys_chmod(Thread& t, GuestAddr path, u32 mode) { return sys_fchmodat2(t, kAtFdcwd, path, mode, 0); }

KResult<u64> sys_fchmod(Thread& t, int fd, u32 mode) { return change_mode(t, TRY(inode_of_fd(t, fd)), mode); }

KResult<u64> sys_fchownat(Thread& t, int dirfd, GuestAddr path, u32 uid, u32 gid, int flags)
{
    auto inode = TRY(inode_at(t, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
    return change_owner(t, inode, uid, gid);
}

KResult<u64> sys_chown(Thread& t, GuestAddr path, u32 uid, u32 gid) { return sys_fchownat(t, kAtFdcwd, path, uid, gid, 0); }

KResult<u64> sys_lchown(Thread& t, GuestAddr path, u32 uid, u32 gid)
{
    return sys_fchownat(t, kAtFdcwd, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

KResult<u64> sys_fchown(Thread& t, int fd, u32 uid, u32 gid) { return change_owner(t, TRY(inode_of_fd(t, fd)), uid, gid); }

KResult<u64> sys_truncate(Thread& t, GuestAddr path, i64 length)
{
    auto p = TRY(copy_path(t, path));
    auto d = TRY(lookup_at(t, kAtFdcwd, p, Follow::Yes, false));
    auto attr = TRY(d->inode().attr());
    if (S_ISDIR(attr.mode))
        return err(Errno::ISDIR);
    TRY(check_access(attr, t.process().creds(), kMayWrite));
    auto access = TRY(WriteAccess::take(d->inode())); // ETXTBSY while a process runs it
    return truncate_inode(Named { d->inode_ref(), d }, length);
}

KResult<u64> sys_ftruncate(Thread& t, int fd, i64 length)
{
    auto file = TRY(get_file(t, fd));
    if (!file->writable())
        return err(file->flags() & O_PATH ? Errno::BADF : Errno::INVAL);
    return truncate_inode(Named { file->inode_ref(), file->dentry() }, length);
}

namespace {

// utimensat(2) with its times copied in (UTIME_NOW both when none given).
KResult<u64> set_times(Thread& t, int dirfd, GuestAddr path, const abi::Timespec (&ts)[2], int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return err(Errno::INVAL);
    Named inode;
    if (path.null()) { // futimens(2)
        if (dirfd == kAtFdcwd)
            return err(Errno::FAULT);
        inode = TRY(inode_of_fd(t, dirfd));
    } else {
        inode = TRY(inode_at(t, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
    }
    auto now = now_realtime();
    std::optional<Timespec> set[2];
    bool explicit_time = false;
    for (int i = 0; i < 2; i++) {
        if (ts[i].tv_nsec == UTIME_OMIT)
            continue;
        if (ts[i].tv_nsec == UTIME_NOW) {
            set[i] = now;
            continue;
        }
        if (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000)
            return err(Errno::INVAL);
        set[i] = Timespec { ts[i].tv_sec, ts[i].tv_nsec };
        explicit_time = true;
    }
    if (!set[0] && !set[1])
        return 0;
    auto attr = TRY(inode->attr());
    // Explicit times need ownership; "now" ownership or write access.
    if (explicit_time)
        TRY(check_owner(t, attr));
    else if (!check_owner(t, attr))
        TRY(check_access(attr, t.process().creds(), kMayWrite));
    TRY(check_mount_writable(inode.dentry.get()));
    TRY(inode->set_times(set[0], set[1]));
    notify(inode, IN_ATTRIB);
    return 0;
}

// utimes(2)/futimesat(2): struct timeval[2], or NULL for now.
KResult<u64> set_timevals(Thread& t, int dirfd, GuestAddr path, GuestAddr times)
{
    abi::Timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
    if (!times.null()) {
        i64 tv[4];
        TRY(t.mm().copy_in(times.value, std::span(reinterpret_cast<u8*>(tv), sizeof tv)));
        for (int i = 0; i < 2; i++) {
            if (tv[2 * i + 1] < 0 || tv[2 * i + 1] >= 1000000)
                return err(Errno::INVAL);
            ts[i] = { tv[2 * i], tv[2 * i + 1] * 1000 };
        }
    }
    return set_times(t, dirfd, path, ts, 0);
}

} // namespace

KResult<u64> sys_utimensat(Thread& t, int dirfd, GuestAddr path, GuestAddr times, int flags)
{
    abi::Timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
    if (!times.null())
        TRY(t.mm().copy_in(times.value, std::span(reinterpret_cast<u8*>(ts), sizeof ts)));
    return set_times(t, dirfd, path, ts, flags);
}

KResult<u64> sys_utimes(Thread& t, GuestAddr path, GuestAddr times) { return set_timevals(t, kAtFdcwd, path, times); }

KResult<u64> sys_futimesat(Thread& t, int dirfd, GuestAddr path, GuestAddr times)
{
    return set_timevals(t, dirfd, path, times);
}

// utime(2): struct utimbuf (actime, modtime in seconds), or NULL for now.
KResult<u64> sys_utime(Thread& t, GuestAddr path, GuestAddr times)
{
    abi::Timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
    if (!times.null()) {
        i64 buf[2];
        TRY(t.mm().copy_in(times.value, std::span(reinterpret_cast<u8*>(buf), sizeof buf)));
        ts[0] = { buf[0], 0 };
        ts[1] = { buf[1], 0 };
    }
    return set_times(t, kAtFdcwd, path, ts, 0);
}

KResult<u64> sys_msync(Thread& t, u64 addr, u64 length, int flags)
{
    TRY(t.mm().msync(addr, length, flags));
    return 0;
}

// umk's writable files live in memory (memfds) or in the host's files,
// whose durability is the host's: there is nothing of the guest's own to
// write back.
KResult<u64> sys_fsync(Thread& t, int fd)
{
    auto file = TRY(get_file(t, fd));
    TRY(file->sync());
    return 0;
}

KResult<u64> sys_fdatasync(Thread& t, int fd) { return sys_fsync(t, fd); }

KResult<u64> sys_sync(Thread&) { return 0; }

KResult<u64> sys_syncfs(Thread& t, int fd)
{
    TRY(get_file(t, fd));
    return 0;
}

} // namespace umk::kernel
