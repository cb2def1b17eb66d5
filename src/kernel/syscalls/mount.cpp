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

#include <map>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace umk::kernel {

namespace {

constexpr u64 kPropagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
constexpr u64 kRecorded = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME
    | MS_LAZYTIME | MS_SILENT;
constexpr u32 kAtimeFlags = MS_NOATIME | MS_NODIRATIME | MS_RELATIME;

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
    // As shmem_show_options: what differs from the defaults.
    std::string shown;
    if (max_pages)
        shown += fmt::format(",size={}k", max_pages * 4);
    if (max_inodes)
        shown += fmt::format(",nr_inodes={}", max_inodes);
    auto attr = TRY(root.attr());
    if ((attr.mode & 07777) != 01777)
        shown += fmt::format(",mode={:03o}", attr.mode & 07777);
    if (attr.uid != 0)
        shown += fmt::format(",uid={}", attr.uid);
    if (attr.gid != 0)
        shown += fmt::format(",gid={}", attr.gid);
    return shown;
}

// mount(2)'s flags as the new mount keeps them (Linux's path_mount):
// relatime unless noatime or strictatime.
u32 mount_flags_from(u64 flags)
{
    u32 kept = static_cast<u32>(flags) & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME);
    if (flags & MS_STRICTATIME)
        kept &= ~MS_NOATIME;
    else if (!(flags & MS_NOATIME))
        kept |= MS_RELATIME;
    return kept;
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

// /proc/sys/fs/mount-max: mounts in the namespace at most (ENOSPC).
constexpr usize kMountMax = 100000;

// Copies of mounts for a bind (Linux's clone_mnt and copy_tree): each with
// its flags and a record like its original's. All are made before the
// caller attaches the first, so a tree bound into itself is copied once.
class MountCopier {
public:
    explicit MountCopier(Kernel& k)
    {
        for (auto& m : k.mounts())
            m_originals.emplace(m.root.get(), m);
    }

    // The mount that `source` is in, from `source` down, to be mounted at
    // `where`; with `rec`, with every mount below and on it.
    KResult<RefPtr<Dentry>> copy(const RefPtr<Dentry>& source, std::string name, const std::string& where, bool rec)
    {
        if (m_originals.size() + records.size() >= kMountMax)
            return err(Errno::NOSPC);
        MountRecord record { where, "none", "none", "", nullptr };
        if (auto it = m_originals.find(source->mount_root()); it != m_originals.end()) {
            record = it->second;
            record.path = where;
        }
        std::string within = source->path_within(source->mount_root());
        if (within != "/")
            record.fs_root = record.fs_root == "/" ? within : record.fs_root + within;
        auto root = Dentry::make_bind_root(source, std::move(name));
        root->set_mount_flags(source->mount_flags());
        record.root = root;
        records.push_back(std::move(record));
        if (rec) {
            TRY(copy_below(source, root, where));
            if (auto above = source->mounted()) // stacked on its root
                root->mount(TRY(copy(above, root->name(), where, true)));
        }
        return root;
    }

    std::vector<MountRecord> records; // parents first

private:
    // The mounts below `from` (cached dentries of one tree) copied onto
    // the same names below `to`.
    KResult<void> copy_below(const RefPtr<Dentry>& from, const RefPtr<Dentry>& to, const std::string& where)
    {
        for (auto& [name, child] : from->cached_children()) {
            if (!child->mounted() && !child->has_submounts())
                continue;
            auto at = to->child(name);
            if (!at)
                continue; // gone meanwhile
            std::string path = where == "/" ? "/" + name : where + "/" + name;
            if (auto mounted = child->mounted())
                (*at)->mount(TRY(copy(mounted, name, path, true)));
            else
                TRY(copy_below(child, *at, path));
        }
        return {};
    }

    std::map<const Dentry*, MountRecord> m_originals;
};

// mount --bind SOURCE TARGET (Linux's do_loopback): SOURCE's inode shown
// at TARGET too, with the flags of SOURCE's mount (mount(2)'s other
// flags are ignored); with MS_REC (--rbind), every mount below SOURCE is
// copied to the same place below TARGET.
KResult<u64> bind_mount(Thread& t, const RefPtr<Dentry>& target, const std::string& source_path, bool rec)
{
    auto ctx = TRY(dir_context(t, kAtFdcwd));
    auto source = follow_mounts(TRY(resolve_path(ctx, source_path, Follow::Yes)));
    bool source_dir = S_ISDIR(TRY(source->inode().attr()).mode);
    bool target_dir = S_ISDIR(TRY(target->inode().attr()).mode);
    if (source_dir != target_dir)
        return err(Errno::NOTDIR);
    if (target->unhashed())
        return err(Errno::NOENT); // removed or renamed meanwhile
    MountCopier copier(t.kernel());
    auto copy = TRY(copier.copy(source, target->name(), target->path(), rec));
    target->mount(copy);
    for (auto& r : copier.records)
        t.kernel().add_mount(std::move(r));
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
    auto ctx = TRY(dir_context(t, kAtFdcwd));
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
    auto ctx = TRY(dir_context(t, kAtFdcwd));
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
        return bind_mount(t, target, TRY(copy_path(t, source_addr)), flags & MS_REC);
    if (flags & MS_REMOUNT) {
        // With MS_BIND: this mount's flags. Without: this mount's flags
        // too, and read-only or read-write for the file system (its super
        // block: every mount of it). The atime flags stay unless given
        // (Linux's path_mount); new data options are ignored.
        if (!target->mountpoint() && target != t.kernel().root())
            return err(Errno::INVAL); // not a mount's root
        if (flags & ~(MS_REMOUNT | MS_BIND | MS_RDONLY | kRecorded))
            return err(Errno::INVAL);
        u32 wanted = mount_flags_from(flags);
        if (!(flags & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)))
            wanted = (wanted & ~kAtimeFlags) | (target->mount_flags() & kAtimeFlags);
        std::vector<RefPtr<Dentry>> roots { target };
        if (!(flags & MS_BIND))
            for (auto& m : t.kernel().mounts())
                if (m.root != target && m.root->inode().fs_id() == target->inode().fs_id())
                    roots.push_back(m.root);
        bool read_only = flags & MS_RDONLY;
        // Not while files there are open for writing (Linux: EBUSY).
        if (read_only && open_for_writing(t.kernel(), roots))
            return err(Errno::BUSY);
        target->set_mount_flags(wanted | (target->mount_flags() & kSuperReadOnly));
        if (!(flags & MS_BIND))
            for (auto& root : roots)
                root->set_mount_flags((root->mount_flags() & ~kSuperReadOnly) | (read_only ? kSuperReadOnly : 0));
        return 0;
    }
    if (flags & MS_MOVE)
        return move_existing_mount(t, target, TRY(copy_path(t, source_addr)));
    if (flags & ~(kRecorded | MS_RDONLY))
        return err(Errno::INVAL);
    if (type_addr.null())
        return err(Errno::INVAL);
    auto type = TRY(t.mm().copy_in_string(type_addr.value, 256));
    auto source = TRY(optional_string(t, source_addr, kPathMax));
    auto data = TRY(optional_string(t, data_addr, 4096));
    if (!S_ISDIR(TRY(target->inode().attr()).mode))
        return err(Errno::NOTDIR);
    if (target->unhashed()) {
        t.kernel().log_once("mount unhashed", "mount: on a directory below a bind mount's source or a renamed one: EINVAL");
        return err(Errno::INVAL);
    }
    if (t.kernel().mounts().size() >= kMountMax)
        return err(Errno::NOSPC);
    RefPtr<Inode> root;
    std::string fs_options;
    if (type == "tmpfs") {
        auto& fs = t.kernel().keep_file_system(std::make_unique<Tmpfs>());
        TRY(fs.root()->chmod(01777)); // tmpfs's default root mode
        fs_options = TRY(apply_tmpfs_options(fs, data));
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
    mounted->set_mount_flags(mount_flags_from(flags) | ((flags & MS_RDONLY) ? kSuperReadOnly : 0));
    target->mount(mounted);
    t.kernel().add_mount({ where, type, source.empty() ? "none" : source, fs_options, mounted });
    return 0;
}

// pivot_root(2): the mount at `new_root` becomes the root; the old root
// is mounted at `put_old`, which is at or below `new_root`.
KResult<u64> sys_pivot_root(Thread& t, GuestAddr new_root_addr, GuestAddr put_old_addr)
{
    if (!t.process().creds().has(kCapSysAdmin))
        return err(Errno::PERM);
    auto ctx = TRY(dir_context(t, kAtFdcwd));
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
    auto ctx = TRY(dir_context(t, kAtFdcwd));
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
    t.kernel().remove_mounts(gone);
    return 0;
}

} // namespace umk::kernel
