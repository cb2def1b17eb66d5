// fcntl(2), dup(2), ioctl(2). Linux: fs/fcntl.c, fs/file.c, fs/ioctl.c.
#include "kernel/syscalls/handlers.h"

#include "host/result.h"
#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/ipc/pipe.h"
#include "kernel/vfs/locks.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

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

namespace {

// struct flock
struct GuestFlock {
    i16 type, whence;
    u32 pad;
    i64 start, len;
    i32 pid;
    u32 pad2;
};
static_assert(sizeof(GuestFlock) == 32);

// The byte range a struct flock names (Linux's flock_to_posix_lock).
KResult<RecordLock> record_lock_of(File& file, const GuestFlock& fl)
{
    if (fl.type != F_RDLCK && fl.type != F_WRLCK && fl.type != F_UNLCK)
        return err(Errno::INVAL);
    i64 base;
    switch (fl.whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR: {
        std::lock_guard lock(file.position_lock());
        base = static_cast<i64>(file.position_locked());
        break;
    }
    case SEEK_END:
        base = static_cast<i64>(TRY(file.inode().attr()).size);
        break;
    default:
        return err(Errno::INVAL);
    }
    i64 start, end;
    if (__builtin_add_overflow(base, fl.start, &start))
        return err(Errno::OVERFLOW);
    if (start < 0)
        return err(Errno::INVAL);
    if (fl.len > 0) {
        if (__builtin_add_overflow(start, fl.len - 1, &end))
            return err(Errno::OVERFLOW);
    } else if (fl.len < 0) {
        // [start + len, start - 1]: Linux's flock64_to_posix_lock.
        end = start - 1;
        if (__builtin_add_overflow(start, fl.len, &start) || start < 0)
            return err(Errno::INVAL);
    } else {
        end = -1; // to the end of the file (and beyond)
    }
    return RecordLock { fl.type, static_cast<u64>(start), end < 0 ? kLockEnd : static_cast<u64>(end), 0 };
}

KResult<u64> record_lock_command(Thread& t, int fd, RefPtr<File>& file, int cmd, u64 arg)
{
    auto fl = TRY(copy_in<GuestFlock>(t, arg));
    bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
    if (ofd && fl.pid != 0)
        return err(Errno::INVAL);
    auto lock = TRY(record_lock_of(*file, fl));
    // POSIX locks belong to the fd table (Linux's current->files), OFD
    // locks to the open file description.
    const void* owner = ofd ? static_cast<const void*>(file.get()) : static_cast<const void*>(&t.fds());
    if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
        if (lock.type == F_UNLCK)
            return err(Errno::INVAL);
        auto held = TRY(get_record_lock(*file, owner, lock));
        if (!held) {
            fl.type = F_UNLCK;
        } else {
            fl.type = held->type;
            fl.whence = SEEK_SET;
            fl.start = static_cast<i64>(held->start);
            fl.len = held->end == kLockEnd ? 0 : static_cast<i64>(held->end - held->start + 1);
            fl.pid = held->pid;
        }
        TRY(copy_out(t, arg, fl));
        return 0;
    }
    if ((lock.type == F_RDLCK && !file->readable()) || (lock.type == F_WRLCK && !file->writable()))
        return err(Errno::BADF);
    lock.pid = t.process().pid();
    TRY(set_record_lock(t, *file, owner, ofd, lock, cmd == F_SETLKW || cmd == F_OFD_SETLKW));
    // The fd was closed meanwhile (while we waited): the close had nothing
    // to drop yet, so the lock goes now (Linux's fcntl_setlk).
    if (!ofd && lock.type != F_UNLCK) {
        auto now = t.fds().get(fd);
        if (!now || now->get() != file.get()) {
            RecordLock unlock = lock;
            unlock.type = F_UNLCK;
            (void)set_record_lock(t, *file, owner, ofd, unlock, false);
            return err(Errno::BADF);
        }
    }
    return 0;
}

} // namespace

KResult<u64> sys_flock(Thread& t, int fd, int operation)
{
    auto file = TRY(get_file(t, fd));
    if (file->flags() & O_PATH)
        return err(Errno::BADF);
    TRY(flock_file(t, *file, operation));
    return 0;
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
    case F_ADD_SEALS:
    case F_GET_SEALS: {
        // Tmpfs files' seals are their host memfds' (see Tmpfs::new_inode).
        if (!dynamic_cast<TmpfsInode*>(&file->inode()) || file->host_fd() < 0 || !S_ISREG(TRY(file->inode().attr()).mode))
            return err(Errno::INVAL);
        int r = ::fcntl(file->host_fd(), cmd, static_cast<int>(arg));
        if (r < 0)
            return err(host::errno_from_host(errno));
        return static_cast<u64>(r);
    }
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
    switch (cmd) {
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        return record_lock_command(t, fd, file, cmd, arg);
    }
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
