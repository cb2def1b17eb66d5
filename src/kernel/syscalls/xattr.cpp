// Extended attributes. Linux: fs/xattr.c. No file system of umk stores
// them yet (the file-systems issue adds them): every file reads as having
// none, and setting one is refused.
#include "kernel/syscalls/handlers.h"

namespace umk::kernel {

namespace {

KResult<u64> no_attribute(Thread& t, int dirfd, GuestAddr path, GuestAddr name, Follow follow)
{
    auto p = TRY(copy_path(t, path));
    TRY(lookup_at(t, dirfd, p, follow, false));
    auto n = TRY(t.mm().copy_in_string(name.value, 256));
    if (n.empty())
        return err(Errno::RANGE);
    return err(Errno::NODATA);
}

} // namespace

KResult<u64> sys_getxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr, u64)
{
    return no_attribute(t, kAtFdcwd, path, name, Follow::Yes);
}

KResult<u64> sys_lgetxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr, u64)
{
    return no_attribute(t, kAtFdcwd, path, name, Follow::No);
}

KResult<u64> sys_fgetxattr(Thread& t, int fd, GuestAddr name, GuestAddr, u64)
{
    TRY(get_file(t, fd));
    auto n = TRY(t.mm().copy_in_string(name.value, 256));
    if (n.empty())
        return err(Errno::RANGE);
    return err(Errno::NODATA);
}

KResult<u64> sys_listxattr(Thread& t, GuestAddr path, GuestAddr, u64)
{
    auto p = TRY(copy_path(t, path));
    TRY(lookup_at(t, kAtFdcwd, p, Follow::Yes, false));
    return 0;
}

KResult<u64> sys_llistxattr(Thread& t, GuestAddr path, GuestAddr, u64)
{
    auto p = TRY(copy_path(t, path));
    TRY(lookup_at(t, kAtFdcwd, p, Follow::No, false));
    return 0;
}

KResult<u64> sys_flistxattr(Thread& t, int fd, GuestAddr, u64)
{
    TRY(get_file(t, fd));
    return 0;
}

} // namespace umk::kernel
