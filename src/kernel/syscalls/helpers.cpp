#include "kernel/syscalls/helpers.h"

#include "kernel/kernel.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

namespace umk::kernel {

KResult<RefPtr<File>> get_file(Thread& t, int fd) { return t.fds().get(fd); }

KResult<std::string> copy_path(Thread& t, GuestAddr addr)
{
    return t.mm().copy_in_string(addr.value, kPathMax);
}

KResult<PathContext> path_context(Thread& t, int dirfd, std::string_view path)
{
    if (path.empty())
        return err(Errno::NOENT); // Linux's getname, before dirfd is looked at
    return path.starts_with('/') ? dir_context(t, kAtFdcwd) : dir_context(t, dirfd);
}

KResult<PathContext> dir_context(Thread& t, int dirfd)
{
    auto fs = t.process().fs();
    PathContext ctx { fs.root, fs.cwd, t.process().creds() };
    if (dirfd == kAtFdcwd)
        return ctx;
    auto file = TRY(get_file(t, dirfd));
    auto dentry = file->dentry();
    if (!dentry)
        return err(Errno::NOTDIR);
    auto attr = TRY(dentry->inode().attr());
    if (!S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    ctx.start = dentry;
    return ctx;
}

KResult<RefPtr<Dentry>> lookup_at(Thread& t, int dirfd, const std::string& path, Follow follow, bool empty_path)
{
    if (path.empty() && empty_path) {
        if (dirfd == kAtFdcwd)
            return t.process().fs().cwd;
        auto file = TRY(get_file(t, dirfd));
        if (!file->dentry())
            return err(Errno::BADF);
        return file->dentry();
    }
    auto ctx = TRY(path_context(t, dirfd, path));
    return resolve_path(ctx, path, follow);
}

KResult<TaskRef> find_task(Thread& t, int tid)
{
    auto p = t.kernel().find_thread_group(tid);
    if (!p)
        return err(Errno::SRCH);
    std::lock_guard lock(p->signal_lock());
    Thread* thread = p->find_thread_locked(tid);
    if (!thread)
        return err(Errno::SRCH);
    return TaskRef { p, thread };
}

KResult<u64> install_fd(Thread& t, RefPtr<File> file, bool cloexec)
{
    auto limit = t.process().rlimit(RLIMIT_NOFILE);
    return static_cast<u64>(TRY(t.fds().allocate(std::move(file), cloexec, 0, limit.cur)));
}

} // namespace umk::kernel
