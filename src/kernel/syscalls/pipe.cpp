// pipe(2), pipe2(2). Linux: fs/pipe.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/ipc/pipe.h"

#include <fcntl.h>

namespace umk::kernel {

constexpr int kNotificationPipe = O_EXCL; // O_NOTIFICATION_PIPE

KResult<u64> sys_pipe2(Thread& t, GuestAddr fds, int flags)
{
    if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | kNotificationPipe))
        return err(Errno::INVAL);
    if (flags & (O_DIRECT | kNotificationPipe)) {
        t.kernel().log_once("pipe2 packet", "pipe2: O_DIRECT (packet mode) and notification pipes not supported: EINVAL");
        return err(Errno::INVAL);
    }
    auto creds = t.process().creds();
    auto [reader, writer] = make_pipe(creds.euid, creds.egid, flags & O_NONBLOCK);
    bool cloexec = flags & O_CLOEXEC;
    int rfd = static_cast<int>(TRY(install_fd(t, reader, cloexec)));
    auto wfd = install_fd(t, writer, cloexec);
    if (!wfd) {
        (void)t.fds().close(rfd);
        return err(wfd.error());
    }
    int pair[2] = { rfd, static_cast<int>(*wfd) };
    if (auto r = t.mm().copy_out(fds.value, std::span(reinterpret_cast<const u8*>(pair), sizeof pair)); !r) {
        (void)t.fds().close(pair[0]);
        (void)t.fds().close(pair[1]);
        return err(r.error());
    }
    return 0;
}

KResult<u64> sys_pipe(Thread& t, GuestAddr fds) { return sys_pipe2(t, fds, 0); }

} // namespace umk::kernel
