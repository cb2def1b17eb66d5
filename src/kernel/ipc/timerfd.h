#pragma once

// timerfd_create(2) and signalfd(2): a timer's expirations and a
// thread's pending signals, read as a file. Linux: fs/timerfd.c,
// fs/signalfd.c.

#include "kernel/abi/linux.h"
#include "kernel/vfs/file.h"

#include <memory>

namespace umk::kernel {

class Kernel;
class Thread;

// Its clock is validated by the caller (REALTIME, MONOTONIC, BOOTTIME).
RefPtr<File> make_timerfd(Kernel& kernel, int clock, int flags);
struct TimerfdSpec {
    abi::Timespec interval, value;
};
// timerfd_settime/gettime on a file (EINVAL when it is no timerfd).
KResult<TimerfdSpec> timerfd_settime(File& file, int flags, const TimerfdSpec& spec);
KResult<TimerfdSpec> timerfd_gettime(File& file);

RefPtr<File> make_signalfd(u64 mask, int flags);
// A signalfd's new mask (EINVAL when it is no signalfd).
KResult<void> signalfd_set_mask(File& file, u64 mask);
// Whether any signalfd exists: then a sent signal wakes pollers.
bool signalfds_exist();

} // namespace umk::kernel
