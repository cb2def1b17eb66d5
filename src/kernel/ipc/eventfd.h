#pragma once

// eventfd(2): a 64-bit counter as a file. Linux: fs/eventfd.c.

#include "kernel/task/wait_queue.h"
#include "kernel/vfs/file.h"

namespace umk::kernel {

// `flags`: EFD_NONBLOCK (its O_NONBLOCK), EFD_SEMAPHORE.
RefPtr<File> make_eventfd(u64 initial, int flags);

} // namespace umk::kernel
