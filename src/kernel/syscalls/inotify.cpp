// inotify_init(2), inotify_add_watch(2), inotify_rm_watch(2).
// Linux: fs/notify/inotify/inotify_user.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/vfs/notify.h"

#include <sys/inotify.h>
#include <sys/stat.h>

namespace umk::kernel {

KResult<u64> sys_inotify_init1(Thread& t, int flags)
{
    if (flags & ~(IN_CLOEXEC | IN_NONBLOCK))
        return err(Errno::INVAL);
    return install_fd(t, make_inotify(flags & IN_NONBLOCK), flags & IN_CLOEXEC);
}

KResult<u64> sys_inotify_init(Thread& t) { return sys_inotify_init1(t, 0); }

KResult<u64> sys_inotify_add_watch(Thread& t, int fd, GuestAddr path, u32 mask)
{
    if (!(mask & IN_ALL_EVENTS))
        return err(Errno::INVAL);
    if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
        return err(Errno::INVAL);
    auto file = TRY(get_file(t, fd));
    auto p = TRY(copy_path(t, path));
    auto dentry = TRY(lookup_at(t, kAtFdcwd, p, (mask & IN_DONT_FOLLOW) ? Follow::No : Follow::Yes, false));
    auto attr = TRY(dentry->inode().attr());
    if ((mask & IN_ONLYDIR) && !S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    TRY(check_access(attr, t.process().creds(), kMayRead));
    return static_cast<u64>(TRY(inotify_add_watch(*file, dentry->inode(), mask)));
}

KResult<u64> sys_inotify_rm_watch(Thread& t, int fd, int wd)
{
    auto file = TRY(get_file(t, fd));
    TRY(inotify_rm_watch(*file, wd));
    return 0;
}

} // namespace umk::kernel
