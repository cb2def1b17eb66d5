#pragma once

// The guest's root file system: the overlay of the host's (or --root's)
// mounts, with umk's own /dev and /proc on top.

#include "host/fd.h"
#include "kernel/kernel.h"
#include "kernel/vfs/dentry.h"

#include <memory>

namespace umk::kernel {

class Kernel;
class OverlayFs;
class Tmpfs;

struct LowerMount {
    std::string relative_path; // "" for the root, "usr" for /usr, ...
    host::Fd fd;               // O_PATH to the mount's root
};

// A host directory mounted in the guest (umk run -v).
struct Volume {
    std::string guest_path; // absolute, normalized
    host::Fd fd;            // O_PATH to the host directory
    bool writable { true };
};

struct RootFs {
    RootFs();
    RootFs(RootFs&&);
    ~RootFs();
    std::unique_ptr<OverlayFs> overlay;
    std::unique_ptr<Tmpfs> shm; // /dev/shm (POSIX shared memory, semaphores)
    RefPtr<Dentry> root;
    std::vector<MountRecord> mounts; // for the kernel's /proc/PID/mounts
};

// The volumes go on top, parents first; a missing mount point is made as
// a directory where its parent is (the guest's upper layer, or a volume).
// `upper`: an O_PATH fd of the host directory that keeps the upper layer
// (--upper DIR); none for one in memory.
KResult<RootFs> build_root(std::vector<LowerMount> mounts, host::Fd upper, std::vector<Volume> volumes, int console_fd);
// /proc needs the kernel; mounted once it exists.
KResult<void> mount_procfs(Kernel&, const RefPtr<Dentry>& root);

} // namespace umk::kernel
