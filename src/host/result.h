#pragma once

// Host results become kernel results here, on purpose: the host and the
// guest share errno numbering (both are Linux x86-64), but a host errno is
// only handed to the guest where the caller decided it means the same.

#include "lib/kresult.h"

#include <cerrno>

namespace umk::host {

inline Errno errno_from_host(int host_errno)
{
    if (host_errno <= 0 || host_errno > 4095)
        return Errno::IO;
    return static_cast<Errno>(host_errno);
}

// For a host call that returns -1 and sets errno.
template <class T>
KResult<T> check(T ret)
{
    if (ret == static_cast<T>(-1))
        return err(errno_from_host(errno));
    return ret;
}

inline KResult<void> check_void(long ret)
{
    if (ret == -1)
        return err(errno_from_host(errno));
    return {};
}

} // namespace umk::host
