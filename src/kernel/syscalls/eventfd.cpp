// eventfd(2), eventfd2(2). Linux: fs/eventfd.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/ipc/eventfd.h"

#include <sys/eventfd.h>

namespace umk::kernel {

KResult<u64> sys_eventfd2(Thread& t, u32 initial, int flags)
{
    if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
        return err(Errno::INVAL);
    return install_fd(t, make_eventfd(initial, flags), flags & EFD_CLOEXEC);
}

KResult<u64> sys_eventfd(Thread& t, u32 initial) { return sys_eventfd2(t, initial, 0); }

} // namespace umk::kernel
