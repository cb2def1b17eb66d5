#include "kernel/rootfs.h"

#include "kernel/fs/devfs/devfs.h"
#include "kernel/fs/ext4/ext4.h"
#include "kernel/fs/hostfs/hostfs.h"
#include "kernel/fs/overlay/overlay.h"
#include "kernel/fs/procfs/procfs.h"
#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/tty/pty.h"
#include "kernel/vfs/path.h"

#include <fmt/format.h>

#include <algorithm>

namespace umk::kernel {

namespace {

// The dentry of `name` in the root, made in the upper layer if the lower
// root has no such directory (a bare --root DIR).
KResult<RefPtr<Dentry>> mountpoint(const RefPtr<Dentry>& root, const std::string& name)
{
    auto d = root->child(name);
    if (d) {
        if (!(*d)->inode().is_dir())
            return err(Errno::NOTDIR);
        return *d;
    }
    if (d.error() != Errno::NOENT)
        return err(d.error());
    auto inode = TRY(root->inode().mkdir(name, 0755, 0, 0));
    return root->add_child(name, inode);
}

std::vector<std::string> split_path(const std::string& path)
{
    std::vector<std::string> names;
    for (usize start = 0; start < path.size();) {
        usize slash = path.find('/', start);
        if (slash == std::string::npos)
            slash = path.size();
        if (slash > start)
            names.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return names;
}

} // namespace

RootFs::RootFs() = default;
RootFs::RootFs(RootFs&&) = default;
RootFs::~RootFs() = default;

KResult<RootFs> build_root(std::vector<LowerMount> mounts, host::Fd upper, std::unique_ptr<Ext4Fs> root_disk,
                           std::vector<Volume> volumes, int console_fd, bool rootless)
{
    RootFs fs;
    if (root_disk) {
        fs.disks.push_back(std::move(root_disk));
        fs.root = Dentry::make_root(RefPtr<Inode>(fs.disks.back()->root()));
        fs.mounts.push_back({ "/", "ext4", "/dev/ubda", "", fs.root });
    } else {
        std::map<std::string, RefPtr<Inode>> lowers;
        for (auto& m : mounts)
            lowers.emplace(m.relative_path, RefPtr<Inode>(TRY(HostInode::make_root(std::move(m.fd)))));
        RefPtr<UpperInode> upper_root;
        if (upper.valid())
            upper_root = TRY(HostInode::make_root(std::move(upper), HostMountOptions { true, true, rootless }));
        fs.overlay = std::make_unique<OverlayFs>(std::move(lowers), std::move(upper_root));
        fs.root = Dentry::make_root(RefPtr<Inode>(fs.overlay->root()));
        fs.mounts.push_back({ "/", "overlay", "overlay", "", fs.root });
    }
    auto dev = Dentry::make_root(make_devfs(console_fd), "dev");
    TRY(mountpoint(fs.root, "dev"))->mount(dev);
    dev->set_mount_flags(MS_NOSUID | MS_RELATIME);
    fs.mounts.push_back({ "/dev", "devtmpfs", "devtmpfs", "", dev });
    fs.shm = std::make_unique<Tmpfs>();
    auto shm = Dentry::make_root(RefPtr<Inode>(fs.shm->root()), "shm");
    TRY(dev->child("shm"))->mount(shm);
    shm->set_mount_flags(MS_NOSUID | MS_NODEV);
    fs.mounts.push_back({ "/dev/shm", "tmpfs", "tmpfs", "", shm });
    auto pts = Dentry::make_root(make_devpts(), "pts");
    TRY(dev->child("pts"))->mount(pts);
    pts->set_mount_flags(MS_NOSUID | MS_NOEXEC | MS_RELATIME);
    fs.mounts.push_back({ "/dev/pts", "devpts", "devpts", ",gid=5,mode=620,ptmxmode=000", pts });
    auto sys = Dentry::make_root(make_sysfs(), "sys");
    TRY(mountpoint(fs.root, "sys"))->mount(sys);
    sys->set_mount_flags(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    fs.mounts.push_back({ "/sys", "sysfs", "sysfs", "", sys });
    std::sort(volumes.begin(), volumes.end(), [](auto& a, auto& b) { return a.guest_path < b.guest_path; });
    for (auto& v : volumes) {
        RefPtr<Dentry> at = fs.root;
        for (auto& name : split_path(v.guest_path)) {
            if (auto mounted = at->mounted())
                at = mounted;
            at = TRY(mountpoint(at, name));
        }
        RefPtr<Inode> root;
        const char* type = "hostfs";
        std::string source = "hostfs";
        if (v.disk) {
            source = fmt::format("/dev/ubd{}", static_cast<char>('a' + fs.disks.size()));
            fs.disks.push_back(std::move(v.disk));
            root = fs.disks.back()->root();
            type = "ext4";
        } else {
            root = TRY(HostInode::make_root(std::move(v.fd), HostMountOptions { v.writable, true, rootless && v.writable, v.host_sockets }));
        }
        auto mounted = Dentry::make_root(root, at->name());
        at->mount(mounted);
        mounted->set_mount_flags(v.writable ? MS_RELATIME : MS_RDONLY | kSuperReadOnly | MS_RELATIME);
        fs.mounts.push_back({ v.guest_path, type, source, "", mounted });
    }
    return fs;
}

KResult<void> mount_procfs(Kernel& kernel, const RefPtr<Dentry>& root)
{
    auto proc = Dentry::make_root(make_procfs(kernel), "proc");
    TRY(mountpoint(root, "proc"))->mount(proc);
    proc->set_mount_flags(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    kernel.add_mount({ "/proc", "proc", "proc", "", proc });
    return {};
}

} // namespace umk::kernel
