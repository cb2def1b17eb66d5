#pragma once

// umk's own /proc and /sys: generated from kernel state, never the host's.
// Files are snapshots taken at open, as seq_file gives.

#include "kernel/vfs/file.h"

namespace umk::kernel {

class Kernel;

RefPtr<Inode> make_procfs(Kernel&);
// umk's /sys: the little programs look for (devices/system/cpu's online,
// possible and present CPUs, the host's), and empty class, bus, kernel...
RefPtr<Inode> make_sysfs();
// Read once at startup from the host (cpuinfo, CPU ranges), before the
// kernel leaves the host's mount tree.
void capture_host_info();

} // namespace umk::kernel
