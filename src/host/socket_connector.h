#pragma once

// Connecting to host unix sockets without a path the guest controls:
// connect(2) takes only a path, so a thread of its own, whose working
// directory is the kernel's /proc, connects to "self/fd/N" where N is an
// O_PATH fd of the socket file (found by a confined lookup). The magic
// link leads to that inode and nowhere else, whatever the tree does
// meanwhile.

#include "host/fd.h"
#include "host/result.h"

namespace umk::host {

// Starts the connecting thread: once, before the kernel's seccomp
// denylist (it needs unshare(CLONE_FS)), after open_proc.
KResult<void> start_socket_connector();

// connect(2) of host AF_UNIX socket `sock` to the socket file `node` (an
// O_PATH fd). ECONNREFUSED when the connector was never started.
KResult<void> connect_to_node(int sock, int node);

} // namespace umk::host
