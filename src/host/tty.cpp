#include "host/tty.h"

#include "host/result.h"

#include <asm/ioctls.h>
#include <sys/ioctl.h>

namespace umk::host {

KResult<void> tty_ioctl(int fd, TtyRequest request, std::span<u8> buffer)
{
    unsigned long r = 0;
    switch (request) {
    case TtyRequest::GetAttr: r = TCGETS; break;
    case TtyRequest::SetAttr: r = TCSETS; break;
    case TtyRequest::SetAttrDrain: r = TCSETSW; break;
    case TtyRequest::SetAttrFlush: r = TCSETSF; break;
    case TtyRequest::GetWinsize: r = TIOCGWINSZ; break;
    case TtyRequest::SetWinsize: r = TIOCSWINSZ; break;
    case TtyRequest::BytesReadable: r = FIONREAD; break;
    }
    return check_void(::ioctl(fd, r, buffer.data()));
}

} // namespace umk::host
