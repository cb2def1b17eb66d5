#include "kernel/rootfs.h"

#include "kernel/fs/devfs/devfs.h"
#include "kernel/fs/hostfs/hostfs.h"
#include "kernel/fs/overlay/overlay.h"
#include "kernel/fs/procfs/procfs.h"
#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/vfs/path.h"

namespace umk::kernel {

namespace {

// The dentry of `name` in the root, made in the upper layer if the lower
// root has no such directory (a bare --root DIR).
KResult<RefPtr<Dentry>> mountpoint(const RefPtr<Dentry>& root, const std::string& name)
{
    auto d = root->child(name);
    if (d)
        return *d;
    auto inode = TRY(root->inode().mkdir(name, 0755, 0, 0));
    return root->add_child(name, inode);
}

} // namespace

RootFs::RootFs() = default;
RootFs::RootFs(RootFs&&) = default;
RootFs::~RootFs() = default;

KResult<RootFs> build_root(std::vector<LowerMount> mounts, int console_fd)
{
    std::map<std::string, RefPtr<Inode>> lowers;
    for (auto& m : mounts)
        lowers.emplace(m.relative_path, RefPtr<Inode>(TRY(HostInode::make_root(std::move(m.fd)))));
    RootFs fs;
    fs.overlay = std::make_unique<OverlayFs>(std::move(lowers));
    fs.root = Dentry::make_root(RefPtr<Inode>(fs.overlay->root()));
    auto dev = Dentry::make_root(make_devfs(console_fd), "dev");
    TRY(mountpoint(fs.root, "dev"))->mount(dev);
    fs.shm = std::make_unique<Tmpfs>();
    TRY(dev->child("shm"))->mount(Dentry::make_root(RefPtr<Inode>(fs.shm->root()), "shm"));
    return fs;
}

KResult<void> mount_procfs(Kernel& kernel, const RefPtr<Dentry>& root)
{
    TRY(mountpoint(root, "proc"))->mount(Dentry::make_root(make_procfs(kernel), "proc"));
    return {};
}

} // namespace umk::kernel
