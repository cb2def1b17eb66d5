// fcntl(2), dup(2), ioctl(2). Linux: fs/fcntl.c, fs/file.c, fs/ioctl.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/ipc/pipe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

namespace umk::kernel {

static u64 nofile_limit(Thread& t) { return t.process().rlimit(RLIMIT_NOFILE).cur; }

KResult<u64> sys_dup(Thread& t, int fd)
{
    auto file = TRY(get_file(t, fd));
    return install_fd(t, file, false);
}

KResult<u64> sys_dup3(Thread& t, int oldfd, int newfd, int flags)
{
    if (flags & ~O_CLOEXEC)
        return err(Errno::INVAL);
    if (oldfd == newfd)
        return err(Errno::INVAL);
    auto file = TRY(get_file(t, oldfd));
    TRY(t.fds().install(newfd, file, flags & O_CLOEXEC, nofile_limit(t)));
    return static_cast<u64>(newfd);
}

KResult<u64> sys_dup2(Thread& t, int oldfd, int newfd)
{
    if (oldfd == newfd) {
        TRY(get_file(t, oldfd));
        return static_cast<u64>(newfd);
    }
    auto file = TRY(get_file(t, oldfd));
    TRY(t.fds().install(newfd, file, false, nofile_limit(t)));
    return static_cast<u64>(newfd);
}

KResult<u64> sys_fcntl(Thread& t, int fd, int cmd, u64 arg)
{
    auto entry = TRY(t.fds().entry(fd));
    auto& file = entry.file;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        i32 min = static_cast<i32>(arg);
        if (min < 0 || static_cast<u64>(min) >= nofile_limit(t))
            return err(Errno::INVAL);
        return static_cast<u64>(TRY(t.fds().allocate(file, cmd == F_DUPFD_CLOEXEC, min, nofile_limit(t))));
    }
    case F_GETFD:
        return entry.cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        TRY(t.fds().set_cloexec(fd, arg & FD_CLOEXEC));
        return 0;
    case F_GETFL:
        return static_cast<u64>(file->flags() & ~(O_CLOEXEC | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC));
    case F_SETFL:
        if (file->flags() & O_PATH)
            return err(Errno::BADF);
        file->set_status_flags(static_cast<int>(arg));
        return 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ: {
        auto* pipe = dynamic_cast<PipeFile*>(file.get());
        if (!pipe)
            return err(Errno::BADF);
        if (cmd == F_GETPIPE_SZ)
            return pipe->pipe().capacity();
        return TRY(pipe->pipe().set_capacity(static_cast<u32>(arg)));
    }
    default:
        break;
    }
    if (file->flags() & O_PATH)
        return err(Errno::BADF);
    t.kernel().log_once(fmt::format("fcntl {}", cmd), fmt::format("fcntl: command {} not supported yet: EINVAL", cmd));
    return err(Errno::INVAL);
}

KResult<u64> sys_ioctl(Thread& t, int fd, u32 request, u64 arg)
{
    auto file = TRY(get_file(t, fd));
    if (file->flags() & O_PATH)
        return err(Errno::BADF);
    switch (request) {
    case FIOCLEX:
        TRY(t.fds().set_cloexec(fd, true));
        return 0;
    case FIONCLEX:
        TRY(t.fds().set_cloexec(fd, false));
        return 0;
    case FIONBIO: {
        int on = TRY(copy_in<int>(t, arg));
        file->set_status_flags(on ? (file->flags() | O_NONBLOCK) : (file->flags() & ~O_NONBLOCK));
        return 0;
    }
    }
    return file->ioctl(t, request, arg);
}

} // namespace umk::kernel
