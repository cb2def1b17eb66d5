// Extended attributes. Linux: fs/xattr.c. No file system of umk stores
// them yet (the file-systems issue adds them): every file reads as having
// none; the set/remove calls are not implemented (ENOSYS).
#include "kernel/syscalls/handlers.h"

namespace umk::kernel {

namespace {

KResult<void> lookup_path(Thread& t, GuestAddr path, Follow follow)
{
    auto p = TRY(copy_path(t, path));
    TRY(lookup_at(t, kAtFdcwd, p, follow, false));
    return {};
}

// The answer for any attribute name: ERANGE for an empty one, else none.
KResult<u64> no_attribute(Thread& t, GuestAddr name)
{
    auto n = TRY(t.mm().copy_in_string(name.value, 256));
    if (n.empty())
        return err(Errno::RANGE);
    return err(Errno::NODATA);
}

} // namespace

KResult<u64> sys_getxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr, u64)
{
    TRY(lookup_path(t, path, Follow::Yes));
    return no_attribute(t, name);
}

KResult<u64> sys_lgetxattr(Thread& t, GuestAddr path, GuestAddr name, GuestAddr, u64)
{
    TRY(lookup_path(t, path, Follow::No));
    return no_attribute(t, name);
}

KResult<u64> sys_fgetxattr(Thread& t, int fd, GuestAddr name, GuestAddr, u64)
{
    TRY(get_file(t, fd));
    return no_attribute(t, name);
}

KResult<u64> sys_listxattr(Thread& t, GuestAddr path, GuestAddr, u64)
{
    TRY(lookup_path(t, path, Follow::Yes));
    return 0;
}

KResult<u64> sys_llistxattr(Thread& t, GuestAddr path, GuestAddr, u64)
{
    TRY(lookup_path(t, path, Follow::No));
    return 0;
}

KResult<u64> sys_flistxattr(Thread& t, int fd, GuestAddr, u64)
{
    TRY(get_file(t, fd));
    return 0;
}

} // namespace umk::kernel
