#include "kernel/task/pidfd.h"

#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/vfs/anon_inode.h"

#include <fcntl.h>
#include <poll.h>

namespace umk::kernel {

const int PidfdInode::kAnonFs = 0;

KResult<InodeAttr> PidfdInode::attr() { return anon_inode_attr(); }

KResult<RefPtr<File>> PidfdInode::open(int flags) { return RefPtr<File>(new PidfdFile(RefPtr<Inode>(this), flags)); }

u32 PidfdFile::poll_events() { return pidfd().process().zombie_unlocked() ? POLLIN | POLLRDNORM : 0; }

RefPtr<File> make_pidfd(RefPtr<Process> process, int flags)
{
    auto inode = make_ref<PidfdInode>(std::move(process));
    return RefPtr<File>(new PidfdFile(inode, O_RDWR | (flags & O_NONBLOCK)));
}

} // namespace umk::kernel
