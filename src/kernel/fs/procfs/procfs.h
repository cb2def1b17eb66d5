#pragma once

// umk's own /proc: generated from kernel state, never the host's. Files
// are snapshots taken at open, as seq_file gives.

#include "kernel/vfs/file.h"

namespace umk::kernel {

class Kernel;

RefPtr<Inode> make_procfs(Kernel&);
// Read once at startup from the host, before the kernel leaves the host's
// mount tree.
void capture_host_cpuinfo();

} // namespace umk::kernel
