#include "host/fd.h"

#include <unistd.h>

namespace umk::host {

void Fd::reset()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

} // namespace umk::host
