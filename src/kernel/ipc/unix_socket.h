#pragma once

// Unix domain sockets (unix(7)): stream, datagram and seqpacket; names in
// the file system, in the abstract namespace or autobound; socketpair;
// SCM_RIGHTS and SCM_CREDENTIALS; SO_PEERCRED; shutdown. Linux:
// net/unix/af_unix.c.
//
// Locking: one lock for every unix socket (peers, queues, names), as a
// connection touches two sockets and a listener a third; waits sleep on
// a socket's WaitQueue with it released.

#include "kernel/task/wait_queue.h"
#include "kernel/vfs/file.h"

#include <deque>
#include <memory>

namespace umk::kernel {

class HostLink;

struct UnixCred {
    i32 pid;
    u32 uid, gid;
};

// Who sends fds (SCM_RIGHTS): fds in flight are counted per user and
// limited to their RLIMIT_NOFILE (ETOOMANYREFS), as Linux does.
struct FdSender {
    u32 uid;
    u64 limit; // ~0: CAP_SYS_RESOURCE or CAP_SYS_ADMIN
};

class UnixSocket : public RefCounted {
public:
    enum class Type { Stream = 1, Dgram = 2, SeqPacket = 5 }; // SOCK_*

    // What recvmsg hands back beyond the bytes.
    struct Received {
        usize bytes { 0 };     // copied
        usize full_size { 0 }; // of the message (MSG_TRUNC on datagrams)
        std::vector<RefPtr<File>> fds;
        std::optional<UnixCred> cred;
        std::string from; // the sender's name ("" when unbound)
        bool truncated { false };
    };
    struct Message {
        std::vector<u8> data;
        std::vector<RefPtr<File>> fds;
        std::optional<UnixCred> cred; // always set; delivered with SO_PASSCRED
        std::string from;
        usize consumed { 0 }; // stream: bytes already read
        u32 fd_uid { 0 };     // who sent `fds` (in-flight accounting)
    };

    explicit UnixSocket(Type type) : m_type(type) {}
    Type type() const { return m_type; }

    // socketpair(2).
    static void connect_pair(UnixSocket& a, UnixSocket& b, const UnixCred& cred);

    // bind(2): `name` is a path ('/'...), abstract ('\0'...) or empty
    // (autobind). `path_key` identifies the socket inode made for a path.
    KResult<void> bind(std::string name, std::optional<std::pair<u64, u64>> path_key);
    // Finds the socket bound to an abstract name or a path inode.
    static RefPtr<UnixSocket> find_abstract(const std::string& name);
    static RefPtr<UnixSocket> find_path(std::pair<u64, u64> key);

    KResult<void> listen(int backlog, const UnixCred& cred);
    // connect(2) to `target` (stream, seqpacket: a listener; datagram: the
    // default destination).
    KResult<void> connect(Thread& t, UnixSocket& target, const UnixCred& cred, bool nonblock);
    // connect(2) to a host socket, the socket file `node` (an O_PATH fd)
    // named `path` in the guest (kernel/ipc/host_socket.h): from then on
    // the socket's data goes to and from the host.
    KResult<void> connect_host(Thread& t, int node, std::string path, bool nonblock);
    // connect(2) with AF_UNSPEC: a datagram socket forgets its destination.
    void disconnect();
    KResult<RefPtr<UnixSocket>> accept(Thread& t, bool nonblock);

    // sendmsg(2) of `data` to the peer, or to `to` (datagrams).
    KResult<usize> send(Thread& t, std::span<const u8> data, std::vector<RefPtr<File>> fds, const FdSender& sender,
                        const UnixCred& cred, UnixSocket* to, bool nonblock, bool nosignal);
    // recvmsg(2) into `out`: MSG_PEEK, MSG_WAITALL, MSG_TRUNC semantics
    // by `flags`.
    KResult<Received> receive(Thread& t, std::span<u8> out, int flags, bool nonblock);
    KResult<void> shutdown(int how);
    // The last reference to its open file went.
    void close();

    u32 poll_events();
    u64 changes();

    // getsockname/getpeername: the name ("" unbound); ENOTCONN for a peer.
    std::string name();
    KResult<std::string> peer_name();
    std::optional<UnixCred> peer_cred();
    bool listening();
    bool pass_cred { false };           // SO_PASSCRED
    std::atomic<int> sndbuf { 212992 }; // SO_SNDBUF, SO_RCVBUF as shown
    std::atomic<int> rcvbuf { 212992 };
    int take_error(); // SO_ERROR

private:
    enum class State { Unconnected, Listening, Connected, Closed };
    void changed_locked();
    std::shared_ptr<HostLink> host_link();
    bool peer_full_locked(const UnixSocket& peer, usize bytes) const;

    Type m_type;
    State m_state { State::Unconnected };
    UnixSocket* m_peer { nullptr }; // connected peer (raw: both clear it at close)
    RefPtr<UnixSocket> m_dest;      // datagrams: connect(2)'s destination
    bool m_peer_gone { false };     // a connected peer closed
    bool m_shut_read { false }, m_shut_write { false };
    bool m_peer_shut_write { false }; // EOF once the queue drains
    bool m_peer_shut_read { false };  // our writes fail (EPIPE)
    std::deque<Message> m_queue;
    usize m_queued_bytes { 0 };
    std::string m_name; // "" unbound; abstract names start with '\0'
    std::optional<std::pair<u64, u64>> m_path_key;
    std::optional<UnixCred> m_peer_cred;
    UnixCred m_listen_cred {};
    int m_backlog { 0 };
    std::deque<RefPtr<UnixSocket>> m_pending; // connections for accept
    int m_error { 0 };
    WaitQueue m_waiters;
    std::atomic<u64> m_changes { 0 };
    std::shared_ptr<HostLink> m_host; // connected to a host socket
    std::string m_host_peer;          // its name in the guest
};

// An open file on a socket; the socket closes with the file's last
// reference.
class SocketFile final : public File {
public:
    SocketFile(RefPtr<UnixSocket> socket, int flags);
    ~SocketFile() override;
    KResult<usize> read(std::span<u8> out, u64 pos) override;
    KResult<usize> write(std::span<const u8> data, u64 pos) override;
    bool seekable() const override { return false; }
    bool takes_nowait() const override { return true; }
    bool pollable() const override { return true; }
    u32 poll_events() override { return m_socket->poll_events(); }
    u64 poll_changes() override { return m_socket->changes(); }
    UnixSocket& socket() { return *m_socket; }

private:
    RefPtr<UnixSocket> m_socket;
};

RefPtr<File> make_socket_file(RefPtr<UnixSocket> socket, int flags);
// The socket behind an open file, or null (ENOTSOCK).
UnixSocket* socket_of(File& file);

} // namespace umk::kernel
