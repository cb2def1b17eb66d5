#pragma once

// A guest unix socket connected to a host one: a socket file in a volume
// the user opened to them (`umk run -v HOST:GUEST:sockets`), such as
// docker.sock, a D-Bus bus or an ssh-agent. The guest's socket keeps its
// type and its file; the bytes go through a host socket of the kernel's,
// non-blocking, whose readiness a watcher thread (epoll, edge-triggered)
// turns into wakeups of the guest's waiters and pollers.
//
// What crosses: data, in both directions, with the socket's message
// boundaries, shutdown and EOF. Not: fds (SCM_RIGHTS: the guest's files
// are not host files; EOPNOTSUPP on send, dropped and logged on receive)
// nor credentials (the host peer sees the kernel process's; SO_PEERCRED
// shows the host peer's ids and pid 0, a pid outside the guest's
// namespace, as Linux does).

#include "kernel/ipc/unix_socket.h"

#include "host/fd.h"

#include <memory>

namespace umk::kernel {

class HostLink {
public:
    // A new host socket of `type` connected to the socket file `node` (an
    // O_PATH fd): ECONNREFUSED, EPROTOTYPE, EACCES as the host says; while
    // the listener's backlog is full, EAGAIN or (blocking) a wait.
    static KResult<std::shared_ptr<HostLink>> connect(Thread&, int node, UnixSocket::Type type, bool nonblock);
    // sendto(2) of one datagram to `node` through a socket of the moment.
    static KResult<usize> send_to(Thread&, int node, std::span<const u8> data, bool nonblock);
    ~HostLink();

    // Blocking calls wait for the host socket's readiness, or a signal.
    // A stream sends everything unless non-blocking or interrupted;
    // EPIPE is the caller's to turn into SIGPIPE.
    KResult<usize> send(Thread&, std::span<const u8> data, bool nonblock);
    KResult<UnixSocket::Received> receive(Thread&, std::span<u8> out, int flags, bool nonblock);
    KResult<void> shutdown(int how);
    u32 poll_events();
    u64 changes() const { return m_changes.load(); }
    std::optional<UnixCred> peer_cred();
    int take_error();

    // The watcher: the host socket's readiness changed.
    void changed();

private:
    HostLink(host::Fd fd, UnixSocket::Type type) : m_fd(std::move(fd)), m_type(type) {}
    // `op` until it does not give EAGAIN (or `nonblock`), sleeping between
    // tries until the watcher sees a change.
    template <class Op>
    auto retry(Thread& t, bool nonblock, Op op) -> decltype(op());

    host::Fd m_fd;
    UnixSocket::Type m_type;
    u64 m_id { 0 }; // the watcher's name for it
    std::mutex m_lock;
    WaitQueue m_waiters;
    std::atomic<u64> m_changes { 0 };
};

} // namespace umk::kernel
