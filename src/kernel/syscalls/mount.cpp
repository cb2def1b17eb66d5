// mount(2) and umount2(2) inside the guest: new tmpfs, proc and sysfs mounts,
// stacked on a directory of the guest's tree, and their removal. One
// mount namespace per guest, with no peers: propagation changes
// (MS_PRIVATE, MS_SHARED, ...) have nothing to act on. Linux:
// fs/namespace.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/fs/procfs/procfs.h"
#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/tty/pty.h"
#include "kernel/vfs/path.h"

#include <fmt/format.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace umk::kernel {

namespace {

constexpr u64 kPropagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
constexpr u64 kRecorded = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME
    | MS_LAZYTIME | MS_SILENT;

// "mode=1777,uid=0,size=64m,nr_inodes=1k": the tmpfs root's mode and
// owner, and its limits (Linux: mm/shmem.c, shmem_parse_one). Returns the
// options /proc/mounts shows for them.
KResult<std::string> apply_tmpfs_options(Tmpfs& fs, const std::string& data)
{
    TmpfsInode& root = *fs.root();
    u64 max_pages = 0, max_inodes = 0;
    usize at = 0;
    while (at < data.size()) {
        usize end = data.find(',', at);
        if (end == std::string::npos)
            end = data.size();
        std::string option = data.substr(at, end - at);
        at = end + 1;
        if (option.empty())
            continue;
        usize eq = option.find('=');
        std::string key = option.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : option.substr(eq + 1);
        auto number = [&](int base) -> KResult<u64> {
            char* rest = nullptr;
            u64 v = std::strtoull(value.c_str(), &rest, base);
            if (value.empty() || (rest && *rest))
                return err(Errno::INVAL);
            return v;
        };
        // memparse: a number with an optional k, m, g, t (or % of memory for size=).
        auto size = [&](bool percent) -> KResult<u64> {
            char* rest = nullptr;
            u64 v = std::strtoull(value.c_str(), &rest, 0);
            if (value.empty() || rest == value.c_str())
                return err(Errno::INVAL);
            std::string_view unit(rest);
            if (percent && unit == "%")
                return static_cast<u64>(sysconf(_SC_PHYS_PAGES)) * 4096 / 100 * v;
            int shift = unit == "" ? 0 : (unit == "k" || unit == "K") ? 10 : (unit == "m" || unit == "M") ? 20
                : (unit == "g" || unit == "G") ? 30 : (unit == "t" || unit == "T") ? 40 : -1;
            if (shift < 0 || (shift && v > (~0ULL >> shift)))
                return err(Errno::INVAL);
            return v << shift;
        };
        if (key == "mode")
            TRY(root.chmod(static_cast<u32>(TRY(number(8)) & 07777)));
        else if (key == "uid")
            TRY(root.chown(static_cast<u32>(TRY(number(10))), ~0U));
        else if (key == "gid")
            TRY(root.chown(~0U, static_cast<u32>(TRY(number(10)))));
        else if (key == "size")
            max_pages = (TRY(size(true)) + 4095) / 4096;
        else if (key == "nr_blocks")
            max_pages = TRY(size(false));
        else if (key == "nr_inodes")
            max_inodes = TRY(size(false));
        else
            return err(Errno::INVAL);
    }
    fs.set_limits(max_pages, max_inodes);
    std::string shown;
    if (max_pages)
        shown += fmt::format(",size={}k", max_pages * 4);
    if (max_inodes)
        shown += fmt::format(",nr_inodes={}", max_inodes);
    return shown;
}

std::string options_text(u64 flags)
{
    std::string out = "rw";
    if (flags & MS_NOSUID)
        out += ",nosuid";
    if (flags & MS_NODEV)
        out += ",nodev";
    if (flags & MS_NOEXEC)
        out += ",noexec";
    out += (flags & MS_NOATIME) ? ",noatime" : (flags & MS_STRICTATIME) ? "" : ",relatime";
    return out;
}

// A process has its cwd or root, or an open file, in the mount `root`.
bool in_use(Kernel& k, const Dentry& root)
{
    auto inside = [&](const RefPtr<Dentry>& d) { return d && d->mount_root() == &root; };
    for (auto& p : k.processes()) {
        auto fs = p->fs();
        if (inside(fs.cwd) || inside(fs.root))
            return true;
        for (auto& [fd, entry] : p->fds().snapshot())
            if (inside(entry.file->dentry()))
                return true;
    }
    return false;
}

// mount --bind SOURCE TARGET (Linux's do_loopback): SOURCE's inode shown
// at TARGET too. A tree with mounts below it is refused (their copies,
// MS_REC, are not made); otherwise MS_REC changes nothing.
KResult<u64> bind_mount(Thread& t, const RefPtr<Dentry>& target, const std::string& source_path, u64 flags)
{
    auto ctx = TRY(path_context(t, kAtFdcwd));
    auto source = follow_mounts(TRY(resolve_path(ctx, source_path, Follow::Yes)));
    bool source_dir = S_ISDIR(TRY(source->inode().attr()).mode);
    bool target_dir = S_ISDIR(TRY(target->inode().attr()).mode);
    if (source_dir != target_dir)
        return err(Errno::NOTDIR);
    if (source->has_submounts() || source->mounted() || target->unhashed()) {
        t.kernel().log_once("bind submounts", "mount: bind mounts of trees with mounts below them, or onto a bind's source, not supported: EINVAL");
        return err(Errno::INVAL);
    }
    if (flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC))
        t.kernel().log_once("mount nosuid", "mount: nosuid, nodev and noexec are shown and not enforced");
    // /proc/mounts: the source's file system, as Linux shows a bind.
    std::string fstype = "none", device = "none";
    for (auto& m : t.kernel().mounts()) {
        if (m.root.get() == source->mount_root()) {
            fstype = m.fstype;
            device = m.source;
        }
    }
    std::string where = target->path();
    auto mounted = Dentry::make_bind_root(source, target->name());
    // A bind of a read-only mount is read-only (clone_mnt copies the flag).
    bool read_only = source->on_read_only_mount();
    mounted->set_read_only(read_only);
    target->mount(mounted);
    std::string options = options_text(flags & ~(MS_BIND | MS_REC));
    if (read_only)
        options.replace(0, 2, "ro");
    t.kernel().add_mount({ where, fstype, device, options, mounted });
    return 0;
}

// A file open for writing below one of the mounts `roots`.
bool open_for_writing(Kernel& k, const std::vector<RefPtr<Dentry>>& roots)
{
    for (auto& p : k.processes()) {
        for (auto& [fd, entry] : p->fds().snapshot()) {
            auto d = entry.file->dentry();
            if (!d || !entry.file->writable())
                continue;
            for (auto& root : roots)
                if (d->mount_root() == root.get())
                    return true;
        }
    }
    return false;
}

// mount --move SOURCE TARGET: the mount at SOURCE, with everything
// mounted below it, goes to TARGET (not below itself).
KResult<u64> move_existing_mount(Thread& t, const RefPtr<Dentry>& target, const std::string& source_path)
{
    auto ctx = TRY(path_context(t, kAtFdcwd));
    auto source = follow_mounts(TRY(resolve_path(ctx, source_path, Follow::Yes)));
    Dentry* from = source->mountpoint();
    if (!from || source == t.kernel().root())
        return err(Errno::INVAL); // not a mount, or the root
    if (!S_ISDIR(TRY(target->inode().attr()).mode) && S_ISDIR(TRY(source->inode().attr()).mode))
        return err(Errno::NOTDIR);
    for (const Dentry* d = target.get(); d; d = d->parent() ? d->parent().get() : d->mountpoint())
        if (d == source.get())
            return err(Errno::LOOP); // into itself (Linux: ELOOP)
    if (target->unhashed())
        return err(Errno::INVAL);
    RefPtr<Dentry>(from)->unmount();
    target->mount(source);
    t.kernel().recompute_mount_paths();
    return 0;
}

KResult<std::string> optional_string(Thread& t, GuestAddr addr, usize max)
{
    if (addr.null())
        return std::string();
    return t.mm().copy_in_string(addr.value, max);
}

} // namespace

KResult<u64> sys_mount(Thread& t, GuestAddr source_addr, GuestAddr target_addr, GuestAddr type_addr, u64 flags,
                       GuestAddr data_addr)
{
    if (!t.process().creds().has(kCapSysAdmin))
        return err(Errno::PERM);
    if ((flags & 0xffff0000U) == MS_MGC_VAL)
        flags &= 0xffff;
    auto target_path = TRY(copy_path(t, target_addr));
    auto ctx = TRY(path_context(t, kAtFdcwd));
    // The topmost mount there: a new one stacks on it (lock_mount).
    auto target = follow_mounts(TRY(resolve_path(ctx, target_path, Follow::Yes)));
    if (flags & kPropagation) {
        // A mount point, with nothing else asked: no peers to act on.
        if (flags & ~(kPropagation | MS_REC | MS_SILENT))
            return err(Errno::INVAL);
        if (!target->mountpoint() && target != t.kernel().root())
            return err(Errno::INVAL);
        return 0;
    }
    if ((flags & MS_BIND) && !(flags & MS_REMOUNT))
        return bind_mount(t, target, TRY(copy_path(t, source_addr)), flags);
    if (flags & MS_REMOUNT) {
        // Read-only or read-write again: with MS_BIND this mount, without
        // it every mount of the file system (its super block). New data
        // options are ignored.
        if (!target->mountpoint() && target != t.kernel().root())
            return err(Errno::INVAL); // not a mount's root
        if (flags & ~(MS_REMOUNT | MS_BIND | MS_RDONLY | kRecorded))
            return err(Errno::INVAL);
        std::vector<RefPtr<Dentry>> roots;
        for (auto& m : t.kernel().mounts())
            if (m.root == target || (!(flags & MS_BIND) && m.root->inode().fs_id() == target->inode().fs_id()))
                roots.push_back(m.root);
        if (roots.empty())
            roots.push_back(target);
        bool read_only = flags & MS_RDONLY;
        // Not while files there are open for writing (Linux: EBUSY).
        if (read_only && open_for_writing(t.kernel(), roots))
            return err(Errno::BUSY);
        for (auto& root : roots) {
            root->set_read_only(read_only);
            t.kernel().set_mount_read_only(root.get(), read_only);
        }
        return 0;
    }
    if (flags & MS_MOVE)
        return move_existing_mount(t, target, TRY(copy_path(t, source_addr)));
    if (flags & MS_RDONLY) {
        t.kernel().log_once("mount flags", "mount: new read-only mounts not supported yet (mount, then remount,ro): EINVAL");
        return err(Errno::INVAL);
    }
    if (flags & ~kRecorded)
        return err(Errno::INVAL);
    if (type_addr.null())
        return err(Errno::INVAL);
    auto type = TRY(t.mm().copy_in_string(type_addr.value, 256));
    auto source = TRY(optional_string(t, source_addr, kPathMax));
    auto data = TRY(optional_string(t, data_addr, 4096));
    if (!S_ISDIR(TRY(target->inode().attr()).mode))
        return err(Errno::NOTDIR);
    if (flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC))
        t.kernel().log_once("mount nosuid", "mount: nosuid, nodev and noexec are shown and not enforced");
    if (target->unhashed()) {
        t.kernel().log_once("mount unhashed", "mount: on a directory below a bind mount's source or a renamed one: EINVAL");
        return err(Errno::INVAL);
    }
    RefPtr<Inode> root;
    std::string options = options_text(flags);
    if (type == "tmpfs") {
        auto& fs = t.kernel().keep_file_system(std::make_unique<Tmpfs>());
        TRY(fs.root()->chmod(01777)); // tmpfs's default root mode
        options += TRY(apply_tmpfs_options(fs, data));
        root = fs.root();
    } else if (type == "proc") {
        root = make_procfs(t.kernel());
    } else if (type == "sysfs") {
        root = make_sysfs();
    } else if (type == "devpts") {
        // The guest's one pty space (Linux gives each mount its own:
        // newinstance is the default there); options are accepted.
        t.kernel().log_once("devpts mount", "mount: a new devpts mount shows the guest's one set of ptys");
        root = make_devpts();
    } else {
        return err(Errno::NODEV); // not a file system umk has
    }
    std::string where = target->path();
    auto mounted = Dentry::make_root(root, target->name());
    target->mount(mounted);
    t.kernel().add_mount({ where, type, source.empty() ? "none" : source, options, mounted });
    return 0;
}

// pivot_root(2): the mount at `new_root` becomes the root; the old root
// is mounted at `put_old`, which is at or below `new_root`.
KResult<u64> sys_pivot_root(Thread& t, GuestAddr new_root_addr, GuestAddr put_old_addr)
{
    if (!t.process().creds().has(kCapSysAdmin))
        return err(Errno::PERM);
    auto ctx = TRY(path_context(t, kAtFdcwd));
    auto new_root = follow_mounts(TRY(resolve_path(ctx, TRY(copy_path(t, new_root_addr)), Follow::Yes)));
    auto put_old = follow_mounts(TRY(resolve_path(ctx, TRY(copy_path(t, put_old_addr)), Follow::Yes)));
    if (!S_ISDIR(TRY(new_root->inode().attr()).mode) || !S_ISDIR(TRY(put_old->inode().attr()).mode))
        return err(Errno::NOTDIR);
    auto old_root = t.kernel().root();
    if (t.process().fs().root != old_root)
        return err(Errno::INVAL); // a chrooted caller (Linux: the root must be a mount's root)
    // Neither may be on the current root's mount (Linux: EBUSY first).
    if (new_root->mount_root() == old_root.get() || put_old->mount_root() == old_root.get())
        return err(Errno::BUSY);
    Dentry* mountpoint = new_root->mountpoint();
    if (!mountpoint)
        return err(Errno::INVAL); // not a mount
    // put_old at or below new_root, within the tree new_root tops.
    bool below = false;
    for (const Dentry* d = put_old.get(); d; d = d->parent() ? d->parent().get() : d->mountpoint()) {
        if (d == new_root.get()) {
            below = true;
            break;
        }
    }
    if (!below || put_old->unhashed())
        return err(Errno::INVAL);
    RefPtr<Dentry>(mountpoint)->unmount();
    new_root->make_top();
    put_old->mount(old_root);
    t.kernel().pivot_root(new_root);
    return 0;
}

KResult<u64> sys_umount2(Thread& t, GuestAddr target_addr, int flags)
{
    if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW))
        return err(Errno::INVAL);
    if ((flags & MNT_EXPIRE) && (flags & (MNT_FORCE | MNT_DETACH)))
        return err(Errno::INVAL);
    if (!t.process().creds().has(kCapSysAdmin))
        return err(Errno::PERM);
    auto target_path = TRY(copy_path(t, target_addr));
    auto ctx = TRY(path_context(t, kAtFdcwd));
    // LOOKUP_MOUNTPOINT: the topmost mount at the path.
    auto root = follow_mounts(TRY(resolve_path(ctx, target_path, (flags & UMOUNT_NOFOLLOW) ? Follow::No : Follow::Yes)));
    Dentry* mountpoint = root->mountpoint();
    if (!mountpoint)
        return err(root == t.kernel().root() ? Errno::BUSY : Errno::INVAL); // not a mount
    if (flags & MNT_EXPIRE)
        return err(Errno::AGAIN); // first call marks it; nothing expires here
    // Mounts below it keep it busy unless detached with them (lazily:
    // files open under them work on, as with MNT_DETACH).
    if (!(flags & MNT_DETACH) && (root->has_submounts() || in_use(t.kernel(), *root)))
        return err(Errno::BUSY);
    // With MNT_DETACH the mounts below go too (umount_tree).
    std::vector<const Dentry*> gone { root.get() };
    for (auto& m : t.kernel().mounts())
        for (const Dentry* d = m.root.get(); d; d = d->parent() ? d->parent().get() : d->mountpoint())
            if (d == root.get() && m.root != root) {
                gone.push_back(m.root.get());
                break;
            }
    RefPtr<Dentry>(mountpoint)->unmount();
    for (auto* g : gone)
        t.kernel().remove_mount(g);
    return 0;
}

} // namespace umk::kernel
