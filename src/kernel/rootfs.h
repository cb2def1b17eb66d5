#pragma once

// The guest's root file system: the overlay of the host's (or --root's)
// mounts, with umk's own /dev and /proc on top.

#include "host/fd.h"
#include "kernel/kernel.h"
#include "kernel/vfs/dentry.h"

#include <memory>

namespace umk::kernel {

class Ext4Fs;
class Kernel;
class OverlayFs;
class Tmpfs;

struct LowerMount {
    std::string relative_path; // "" for the root, "usr" for /usr, ...
    host::Fd fd;               // O_PATH to the mount's root
};

// A host directory, or an ext4 image, mounted in the guest (umk run -v).
struct Volume {
    std::string guest_path; // absolute, normalized
    host::Fd fd;            // O_PATH to the host directory
    bool writable { true };
    bool host_sockets { false }; // its host sockets are connectable
    std::unique_ptr<Ext4Fs> disk; // an image's file system instead of the directory
};

struct RootFs {
    RootFs();
    RootFs(RootFs&&);
    ~RootFs();
    std::vector<std::unique_ptr<Ext4Fs>> disks; // first: unmounted after all their inodes are gone
    std::unique_ptr<OverlayFs> overlay;
    std::unique_ptr<Tmpfs> shm; // /dev/shm (POSIX shared memory, semaphores)
    RefPtr<Dentry> root;
    std::vector<MountRecord> mounts; // for the kernel's /proc/PID/mounts
};

// The volumes go on top, parents first; a missing mount point is made as
// a directory where its parent is (the guest's upper layer, or a volume).
// `upper`: an O_PATH fd of the host directory that keeps the upper layer
// (--upper DIR); none for one in memory. `root_disk` (--disk IMG): the
// root is that image's file system instead of an overlay.
// `rootless`: umk runs as an unprivileged host user; the guest's owners
// the host refuses in volumes and the upper directory go to xattrs.
KResult<RootFs> build_root(std::vector<LowerMount> mounts, host::Fd upper, std::unique_ptr<Ext4Fs> root_disk,
                           std::vector<Volume> volumes, int console_fd, bool rootless);
// /proc needs the kernel; mounted once it exists.
KResult<void> mount_procfs(Kernel&, const RefPtr<Dentry>& root);

} // namespace umk::kernel
