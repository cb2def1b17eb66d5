// getdents64(2), getcwd(2), chdir(2). Linux: fs/readdir.c, fs/d_path.c.
#include "kernel/syscalls/handlers.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace umk::kernel {

KResult<u64> sys_getdents64(Thread& t, int fd, GuestAddr buf, u32 count)
{
    auto file = TRY(get_file(t, fd));
    if (file->flags() & O_PATH)
        return err(Errno::BADF);
    auto dentry = file->dentry();
    auto self_attr = TRY(file->inode().attr());
    if (!S_ISDIR(self_attr.mode))
        return err(Errno::NOTDIR);

    std::lock_guard lock(file->position_lock());
    if (!file->dir_snapshot_locked || file->position_locked() == 0) {
        auto entries = TRY(file->list());
        auto named = [&](std::string_view n) {
            return std::any_of(entries.begin(), entries.end(), [&](const DirEntry& e) { return e.name == n; });
        };
        // Where the file system's listing has no "." and "..", they come first.
        if (!named("..")) {
            u64 parent_ino = self_attr.ino;
            if (dentry) {
                auto root = t.process().fs().root;
                RefPtr<Dentry> p = dentry == root ? dentry : dentry->parent();
                if (!p && dentry->mountpoint())
                    p = RefPtr<Dentry>(dentry->mountpoint())->parent();
                if (p)
                    if (auto pa = p->inode().attr())
                        parent_ino = pa->ino;
            }
            entries.insert(entries.begin(), DirEntry { "..", parent_ino, DT_DIR });
        }
        if (!named("."))
            entries.insert(entries.begin(), DirEntry { ".", self_attr.ino, DT_DIR });
        file->dir_snapshot_locked = std::move(entries);
    }
    auto& entries = *file->dir_snapshot_locked;

    u32 limit = std::min<u32>(count, 1 << 20);
    std::vector<u8> out;
    u64 index = file->position_locked();
    while (index < entries.size()) {
        const auto& e = entries[index];
        usize reclen = (19 + e.name.size() + 1 + 7) & ~usize(7);
        if (out.size() + reclen > limit)
            break;
        usize at = out.size();
        out.resize(at + reclen, 0);
        u64 ino = e.ino;
        i64 next = static_cast<i64>(index + 1);
        u16 rl = static_cast<u16>(reclen);
        std::memcpy(&out[at], &ino, 8);
        std::memcpy(&out[at + 8], &next, 8);
        std::memcpy(&out[at + 16], &rl, 2);
        out[at + 18] = e.type;
        std::memcpy(&out[at + 19], e.name.data(), e.name.size());
        index++;
    }
    if (out.empty() && index < entries.size())
        return err(Errno::INVAL);
    TRY(t.mm().copy_out(buf.value, out));
    file->set_position_locked(index);
    return out.size();
}

KResult<u64> sys_getcwd(Thread& t, GuestAddr buf, u64 size)
{
    auto fs = t.process().fs();
    if (fs.cwd->deleted())
        return err(Errno::NOENT); // Linux's getcwd of a removed directory
    // Relative to the process root; a cwd outside it shows as
    // "(unreachable)/..." as on Linux.
    std::string path = fs.cwd->path_within(fs.root.get());
    if (path.size() + 1 > size)
        return err(Errno::RANGE);
    TRY(t.mm().copy_out(buf.value, std::span(reinterpret_cast<const u8*>(path.c_str()), path.size() + 1)));
    return path.size() + 1;
}

static KResult<u64> change_cwd(Thread& t, RefPtr<Dentry> d)
{
    auto attr = TRY(d->inode().attr());
    if (!S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    TRY(check_access(attr, t.process().creds(), kMayExec));
    std::lock_guard lock(t.process().lock());
    t.process().fs_locked().cwd = d;
    return 0;
}

KResult<u64> sys_chdir(Thread& t, GuestAddr path)
{
    auto p = TRY(copy_path(t, path));
    return change_cwd(t, TRY(lookup_at(t, kAtFdcwd, p, Follow::Yes, false)));
}

// chroot(2): the process root for path walks (`..` stops there) and for
// the paths it is shown (getcwd, /proc links); the cwd stays.
KResult<u64> sys_chroot(Thread& t, GuestAddr path)
{
    auto p = TRY(copy_path(t, path));
    auto d = TRY(lookup_at(t, kAtFdcwd, p, Follow::Yes, false));
    auto attr = TRY(d->inode().attr());
    if (!S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    auto creds = t.process().creds();
    TRY(check_access(attr, creds, kMayExec));
    if (!creds.has(kCapSysChroot))
        return err(Errno::PERM);
    std::lock_guard lock(t.process().lock());
    t.process().fs_locked().root = follow_mounts(d);
    return 0;
}

KResult<u64> sys_fchdir(Thread& t, int fd)
{
    auto file = TRY(get_file(t, fd));
    if (!file->dentry())
        return err(Errno::NOTDIR);
    return change_cwd(t, file->dentry());
}

} // namespace umk::kernel
