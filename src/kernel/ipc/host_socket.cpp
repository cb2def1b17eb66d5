#include "kernel/ipc/host_socket.h"

#include "host/files.h"
#include "host/socket_connector.h"
#include "kernel/kernel.h"
#include "kernel/task/poll_hub.h"

#include <cstring>
#include <map>
#include <thread>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace umk::kernel {

namespace {

// One thread for every host link: edge-triggered epoll, each event a
// change of its link.
class Watcher {
public:
    static Watcher& the()
    {
        static Watcher* watcher = new Watcher; // lives as long as the kernel process
        return *watcher;
    }

    KResult<u64> add(const std::shared_ptr<HostLink>& link, int fd)
    {
        std::lock_guard lock(m_lock);
        u64 id = m_next++;
        epoll_event e {};
        e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        e.data.u64 = id;
        if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &e) != 0)
            return err(host::errno_from_host(errno));
        m_links[id] = link;
        return id;
    }

    void remove(u64 id, int fd)
    {
        std::lock_guard lock(m_lock);
        epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        m_links.erase(id);
    }

private:
    Watcher() : m_epoll(epoll_create1(EPOLL_CLOEXEC))
    {
        std::thread([this] { run(); }).detach();
    }

    void run()
    {
        epoll_event events[64];
        for (;;) {
            int n = epoll_wait(m_epoll, events, 64, -1);
            for (int i = 0; i < n; i++) {
                std::shared_ptr<HostLink> link;
                {
                    std::lock_guard lock(m_lock);
                    if (auto it = m_links.find(events[i].data.u64); it != m_links.end())
                        link = it->second.lock();
                }
                if (link)
                    link->changed();
            }
        }
    }

    int m_epoll;
    std::mutex m_lock;
    std::map<u64, std::weak_ptr<HostLink>> m_links; // under m_lock
    u64 m_next { 1 };
};

int host_type(UnixSocket::Type type)
{
    switch (type) {
    case UnixSocket::Type::Stream:
        return SOCK_STREAM;
    case UnixSocket::Type::Dgram:
        return SOCK_DGRAM;
    case UnixSocket::Type::SeqPacket:
        return SOCK_SEQPACKET;
    }
    return SOCK_STREAM;
}

KResult<host::Fd> new_host_socket(UnixSocket::Type type)
{
    int fd = ::socket(AF_UNIX, host_type(type) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err(host::errno_from_host(errno));
    return host::Fd(fd);
}

// What the host gives no wakeup for (a listener's full backlog, a
// datagram socket of the moment): tried again every few milliseconds.
constexpr auto kRetrySlice = std::chrono::milliseconds(10);

template <class Op>
auto retry_sleeping(Thread& t, bool nonblock, Op op) -> decltype(op())
{
    for (;;) {
        auto r = op();
        if (r || r.error() != Errno::AGAIN || nonblock)
            return r;
        if (t.wait_for_signal(std::chrono::steady_clock::now() + kRetrySlice))
            return err(Errno::RESTARTSYS);
    }
}

} // namespace

KResult<std::shared_ptr<HostLink>> HostLink::connect(Thread& t, int node, UnixSocket::Type type, bool nonblock)
{
    auto fd = TRY(new_host_socket(type));
    TRY(retry_sleeping(t, nonblock, [&] { return host::connect_to_node(fd.get(), node); }));
    int raw = fd.get();
    std::shared_ptr<HostLink> link(new HostLink(std::move(fd), type));
    link->m_id = TRY(Watcher::the().add(link, raw));
    return link;
}

KResult<usize> HostLink::send_to(Thread& t, int node, std::span<const u8> data, bool nonblock)
{
    auto fd = TRY(new_host_socket(UnixSocket::Type::Dgram));
    TRY(host::connect_to_node(fd.get(), node));
    return retry_sleeping(t, nonblock, [&]() -> KResult<usize> {
        ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return err(host::errno_from_host(errno));
        return static_cast<usize>(n);
    });
}

HostLink::~HostLink()
{
    if (m_id)
        Watcher::the().remove(m_id, m_fd.get());
}

void HostLink::changed()
{
    {
        std::lock_guard lock(m_lock);
        m_changes++;
        m_waiters.wake_all();
    }
    PollHub::the().notify();
}

template <class Op>
auto HostLink::retry(Thread& t, bool nonblock, Op op) -> decltype(op())
{
    for (;;) {
        u64 seen = m_changes.load();
        auto r = op();
        if (r || r.error() != Errno::AGAIN || nonblock)
            return r;
        std::unique_lock lock(m_lock);
        TRY(m_waiters.wait(t, lock, [&] { return m_changes.load() != seen; }));
    }
}

KResult<usize> HostLink::send(Thread& t, std::span<const u8> data, bool nonblock)
{
    usize done = 0;
    do {
        auto sent = retry(t, nonblock, [&]() -> KResult<usize> {
            ssize_t n = ::send(m_fd.get(), data.data() + done, data.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0)
                return err(host::errno_from_host(errno));
            return static_cast<usize>(n);
        });
        if (!sent)
            return done > 0 ? KResult<usize>(done) : KResult<usize>(err(sent.error()));
        done += *sent;
    } while (m_type == UnixSocket::Type::Stream && done < data.size() && !nonblock);
    return done;
}

KResult<UnixSocket::Received> HostLink::receive(Thread& t, std::span<u8> out, int flags, bool nonblock)
{
    bool stream = m_type == UnixSocket::Type::Stream;
    bool waitall = stream && (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
    // MSG_TRUNC: a datagram's full size, whatever fits.
    int host_flags = MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (flags & MSG_PEEK) | (stream ? 0 : MSG_TRUNC);
    UnixSocket::Received r;
    for (;;) {
        auto got = retry(t, nonblock, [&]() -> KResult<usize> {
            iovec iov { out.data() + r.bytes, out.size() - r.bytes };
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
            msghdr m {};
            m.msg_iov = &iov;
            m.msg_iovlen = 1;
            m.msg_control = control;
            m.msg_controllen = sizeof control;
            ssize_t n = ::recvmsg(m_fd.get(), &m, host_flags);
            if (n < 0)
                return err(host::errno_from_host(errno));
            for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                    continue;
                usize count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (usize i = 0; i < count; i++) {
                    int fd;
                    std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                    ::close(fd);
                }
                t.kernel().log_once("host socket fds", "host sockets: fds a host peer passes (SCM_RIGHTS) are dropped");
            }
            return static_cast<usize>(n);
        });
        if (!got)
            return r.bytes > 0 ? KResult<UnixSocket::Received>(std::move(r)) : KResult<UnixSocket::Received>(err(got.error()));
        if (!stream) {
            r.full_size = *got;
            r.bytes = std::min(*got, out.size());
            r.truncated = *got > out.size();
            return r;
        }
        r.bytes += *got;
        r.full_size = r.bytes;
        if (!waitall || *got == 0 || r.bytes == out.size())
            return r;
    }
}

KResult<void> HostLink::shutdown(int how) { return host::check_void(::shutdown(m_fd.get(), how)); }

u32 HostLink::poll_events()
{
    u32 events = host::poll_now(m_fd.get(), POLLIN | POLLOUT | POLLRDHUP);
    return events & POLLOUT ? events | POLLWRBAND : events;
}

std::optional<UnixCred> HostLink::peer_cred()
{
    ucred c {};
    socklen_t length = sizeof c;
    if (getsockopt(m_fd.get(), SOL_SOCKET, SO_PEERCRED, &c, &length) != 0)
        return std::nullopt;
    return UnixCred { 0, c.uid, c.gid };
}

int HostLink::take_error()
{
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(m_fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    return error ? static_cast<int>(host::errno_from_host(error)) : 0;
}

} // namespace umk::kernel
