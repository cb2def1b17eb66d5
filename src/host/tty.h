#pragma once

// Terminal ioctls on the user's terminal, for the guest console. Only the
// allowlisted requests exist here.

#include "lib/kresult.h"
#include "lib/types.h"

#include <span>

namespace umk::host {

enum class TtyRequest { GetAttr, SetAttr, SetAttrDrain, SetAttrFlush, GetWinsize, SetWinsize, BytesReadable };

// `buffer` is the kernel's copy of the guest argument (termios 36 bytes,
// winsize 8, int 4).
KResult<void> tty_ioctl(int fd, TtyRequest, std::span<u8> buffer);

} // namespace umk::host
