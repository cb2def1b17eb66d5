// memfd_create(2) and fallocate(2). Linux: mm/memfd.c, fs/open.c.
#include "kernel/syscalls/handlers.h"

#include "host/result.h"
#include "kernel/fs/tmpfs/tmpfs.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>

namespace umk::kernel {

namespace {

// The file system memfds live in (never mounted anywhere). Lives as long
// as the process: memfds may outlive any one guest structure.
Tmpfs& memfd_fs()
{
    static Tmpfs* fs = new Tmpfs();
    return *fs;
}

constexpr unsigned kMfdNoexecSeal = 0x8U, kMfdExec = 0x10U;
constexpr usize kMfdNameMax = 249; // NAME_MAX - strlen("memfd:")

} // namespace

KResult<u64> sys_memfd_create(Thread& t, GuestAddr uname, u32 flags)
{
    if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | kMfdNoexecSeal | kMfdExec | (0x3fU << 26)))
        return err(Errno::INVAL);
    if ((flags & kMfdNoexecSeal) && (flags & kMfdExec))
        return err(Errno::INVAL);
    if (flags & MFD_HUGETLB) {
        t.kernel().log_once("memfd hugetlb", "memfd_create: MFD_HUGETLB not supported: EINVAL");
        return err(Errno::INVAL);
    }
    if (flags & (0x3fU << 26)) // a huge page size without MFD_HUGETLB
        return err(Errno::INVAL);
    auto name = t.mm().copy_in_string(uname.value, kMfdNameMax + 1);
    if (!name)
        return err(name.error() == Errno::NAMETOOLONG ? Errno::INVAL : name.error());
    auto creds = t.process().creds();
    // MFD_NOEXEC_SEAL: no x bits, and F_SEAL_EXEC with sealing allowed.
    bool noexec = flags & kMfdNoexecSeal;
    u32 mode = S_IFREG | (noexec ? 0666 : 0777);
    unsigned host_flags = (flags & MFD_ALLOW_SEALING) | (noexec ? kMfdNoexecSeal : 0);
    auto inode = TRY(memfd_fs().new_inode(mode, creds.fsuid, creds.fsgid, host_flags));
    auto file = TRY(inode->open(O_RDWR | abi::kOLargefile));
    file->set_dentry(Dentry::make_detached(RefPtr<Inode>(inode), fmt::format("/memfd:{} (deleted)", *name)));
    return install_fd(t, file, flags & MFD_CLOEXEC);
}

// Preallocation and holes: the host does it on the file's host fd (tmpfs
// memfds, writable volumes).
KResult<u64> sys_fallocate(Thread& t, int fd, int mode, i64 offset, i64 len)
{
    auto file = TRY(get_file(t, fd));
    if (offset < 0 || len <= 0)
        return err(Errno::INVAL);
    if (!file->writable() || (file->flags() & O_PATH))
        return err(Errno::BADF);
    auto attr = TRY(file->inode().attr());
    if (S_ISFIFO(attr.mode))
        return err(Errno::SPIPE);
    if (S_ISDIR(attr.mode))
        return err(Errno::ISDIR);
    if (!S_ISREG(attr.mode) || file->host_fd() < 0)
        return err(Errno::NODEV);
    if (offset > INT64_MAX - len)
        return err(Errno::FBIG);
    if ((file->flags() & O_APPEND) && (mode & ~FALLOC_FL_KEEP_SIZE))
        return err(Errno::PERM); // only extending an append-only file
    if (auto* tmpfs = dynamic_cast<TmpfsInode*>(&file->inode())) {
        TRY(tmpfs->allocate(file->host_fd(), mode, static_cast<u64>(offset), static_cast<u64>(len)));
        return 0;
    }
    if (::fallocate(file->host_fd(), mode, offset, len) != 0)
        return err(host::errno_from_host(errno));
    return 0;
}

} // namespace umk::kernel
