#include "kernel/ipc/unix_socket.h"

#include "kernel/ipc/host_socket.h"
#include "kernel/kernel.h"
#include "kernel/task/poll_hub.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <map>

#include <algorithm>
#include <poll.h>
#include <sys/socket.h>

namespace umk::kernel {

namespace {

std::mutex g_lock;
std::map<std::string, UnixSocket*> g_abstract;         // under g_lock
std::map<std::pair<u64, u64>, UnixSocket*> g_paths;     // under g_lock
u32 g_autobind_next { 0 };                              // under g_lock

constexpr usize kStreamQueueBytes = 212992; // what a reader's queue holds
constexpr usize kDgramQueueLength = 512;    // /proc/sys/net/unix/max_dgram_qlen
constexpr usize kQueueMessages = 1024;      // any queue, however small its messages
constexpr usize kMaxMessage = 212992 - 32;  // SO_SNDBUF minus the skb overhead
std::map<u32, u64> g_inflight;              // fds in flight per user, under g_lock

// The fds of a message that leaves a queue are no longer in flight.
void uncount_fds_locked(const UnixSocket::Message& m)
{
    if (m.fds.empty())
        return;
    auto it = g_inflight.find(m.fd_uid);
    if (it != g_inflight.end() && (it->second -= std::min<u64>(it->second, m.fds.size())) == 0)
        g_inflight.erase(it);
}

// Dropped messages go without recursion: a message may hold the last
// reference to a socket whose queue holds another, and so on (a chain as
// long as a guest likes). The outermost release on a thread drains them.
thread_local std::vector<std::deque<UnixSocket::Message>>* t_releasing = nullptr;

void release_dropped(std::deque<UnixSocket::Message> dropped)
{
    if (t_releasing) {
        t_releasing->push_back(std::move(dropped));
        return;
    }
    std::vector<std::deque<UnixSocket::Message>> work;
    work.push_back(std::move(dropped));
    t_releasing = &work;
    while (!work.empty()) {
        auto batch = std::move(work.back());
        work.pop_back();
        batch.clear(); // may queue more through t_releasing
    }
    t_releasing = nullptr;
}

RefPtr<UnixSocket> strong(UnixSocket* s) { return s && s->try_ref() ? RefPtr<UnixSocket>::adopt(s) : nullptr; }

class SocketInode final : public Inode {
public:
    KResult<InodeAttr> attr() override
    {
        InodeAttr a; // sockfs: one inode per socket in Linux; here shared
        a.dev = 0x8;
        a.ino = 1;
        a.mode = S_IFSOCK | 0777;
        a.blksize = 4096;
        return a;
    }
    KResult<RefPtr<File>> open(int) override { return err(Errno::NXIO); }
    const void* fs_id() const override { return &kSockFs; }
    std::optional<std::string> anon_name() const override { return "socket"; }

private:
    static constexpr int kSockFs = 0;
};

// A SIGPIPE for the writer (send without MSG_NOSIGNAL on a broken pipe).
KResult<usize> broken_pipe(Thread& t, bool nosignal)
{
    if (!nosignal)
        t.process().send_signal(make_siginfo(kSigPipe, kSiUser, t.process().pid(), t.process().creds().uid), t.tid());
    return err(Errno::PIPE);
}

} // namespace

std::shared_ptr<HostLink> UnixSocket::host_link()
{
    std::lock_guard lock(g_lock);
    return m_host;
}

u64 UnixSocket::changes()
{
    auto host = host_link();
    return m_changes.load() + (host ? host->changes() : 0);
}

void UnixSocket::changed_locked()
{
    m_changes++;
    m_waiters.wake_all();
    PollHub::the().notify();
}

void UnixSocket::connect_pair(UnixSocket& a, UnixSocket& b, const UnixCred& cred)
{
    std::lock_guard lock(g_lock);
    a.m_peer_cred = b.m_peer_cred = cred;
    if (a.m_type == Type::Dgram) { // each the other's destination
        a.m_dest = RefPtr<UnixSocket>(&b);
        b.m_dest = RefPtr<UnixSocket>(&a);
        return;
    }
    a.m_state = b.m_state = State::Connected;
    a.m_peer = &b;
    b.m_peer = &a;
}

KResult<void> UnixSocket::bind(std::string name, std::optional<std::pair<u64, u64>> path_key)
{
    std::lock_guard lock(g_lock);
    if (!m_name.empty() || m_state == State::Closed)
        return err(Errno::INVAL);
    if (name.empty()) {
        // Autobind: an abstract name of five hex digits (Linux's unix_autobind).
        for (u32 tries = 0;; tries++) {
            if (tries > 0xfffff)
                return err(Errno::NOSPC);
            name = fmt::format("{}{:05x}", '\0', g_autobind_next++ & 0xfffff);
            if (!g_abstract.contains(name))
                break;
        }
    }
    if (name[0] == '\0') {
        if (g_abstract.contains(name))
            return err(Errno::ADDRINUSE);
        g_abstract[name] = this;
    } else {
        g_paths[*path_key] = this;
        m_path_key = path_key;
    }
    m_name = std::move(name);
    return {};
}

RefPtr<UnixSocket> UnixSocket::find_abstract(const std::string& name)
{
    std::lock_guard lock(g_lock);
    auto it = g_abstract.find(name);
    return it == g_abstract.end() ? nullptr : strong(it->second);
}

RefPtr<UnixSocket> UnixSocket::find_path(std::pair<u64, u64> key)
{
    std::lock_guard lock(g_lock);
    auto it = g_paths.find(key);
    return it == g_paths.end() ? nullptr : strong(it->second);
}

KResult<void> UnixSocket::listen(int backlog, const UnixCred& cred)
{
    std::lock_guard lock(g_lock);
    if (m_type == Type::Dgram)
        return err(Errno::OPNOTSUPP);
    if (m_state != State::Unconnected && m_state != State::Listening)
        return err(Errno::INVAL);
    if (m_name.empty())
        return err(Errno::INVAL);
    constexpr int kSomaxconn = 4096;
    m_backlog = static_cast<unsigned>(backlog) > kSomaxconn ? kSomaxconn : backlog;
    if (m_state != State::Listening)
        m_listen_cred = cred;
    m_state = State::Listening;
    changed_locked();
    return {};
}

KResult<void> UnixSocket::connect(Thread& t, UnixSocket& target, const UnixCred& cred, bool nonblock)
{
    std::unique_lock lock(g_lock);
    if (m_type == Type::Dgram) {
        if (target.m_type != Type::Dgram)
            return err(Errno::PROTOTYPE);
        if (target.m_state == State::Closed)
            return err(Errno::CONNREFUSED);
        m_dest = RefPtr<UnixSocket>(&target);
        m_host = nullptr;
        changed_locked();
        return {};
    }
    if (m_state == State::Connected)
        return err(Errno::ISCONN);
    if (m_state != State::Unconnected)
        return err(Errno::INVAL);
    if (target.m_type != m_type)
        return err(Errno::PROTOTYPE);
    // Linux's unix_recvq_full: one more than the backlog may wait.
    auto full = [&] { return target.m_pending.size() > static_cast<usize>(target.m_backlog); };
    if (target.m_state != State::Listening)
        return err(Errno::CONNREFUSED);
    if (full()) {
        if (nonblock)
            return err(Errno::AGAIN);
        TRY(target.m_waiters.wait(t, lock, [&] { return !full() || target.m_state != State::Listening; }));
        if (target.m_state != State::Listening)
            return err(Errno::CONNREFUSED);
        if (m_state != State::Unconnected)
            return err(Errno::ISCONN);
    }
    // The server's end, waiting in the listener's queue for accept.
    auto server = make_ref<UnixSocket>(m_type);
    server->m_state = State::Connected;
    server->m_peer = this;
    server->m_name = target.m_name;
    server->m_peer_cred = cred;
    server->pass_cred = target.pass_cred;
    m_peer = server.get();
    m_peer_cred = target.m_listen_cred;
    m_state = State::Connected;
    target.m_pending.push_back(server);
    target.changed_locked();
    changed_locked();
    return {};
}

KResult<void> UnixSocket::connect_host(Thread& t, int node, std::string path, bool nonblock)
{
    auto state_allows = [&]() -> KResult<void> {
        if (m_type == Type::Dgram)
            return m_state == State::Closed ? KResult<void>(err(Errno::BADF)) : KResult<void>();
        if (m_state == State::Connected)
            return err(Errno::ISCONN);
        if (m_state != State::Unconnected)
            return err(Errno::INVAL);
        return {};
    };
    {
        std::lock_guard lock(g_lock);
        TRY(state_allows());
    }
    auto link = TRY(HostLink::connect(t, node, m_type, nonblock));
    std::lock_guard lock(g_lock);
    TRY(state_allows()); // another thread's connect came first
    m_host = std::move(link);
    m_host_peer = std::move(path);
    m_dest = nullptr;
    if (m_type != Type::Dgram)
        m_state = State::Connected;
    changed_locked();
    return {};
}

void UnixSocket::disconnect()
{
    std::lock_guard lock(g_lock);
    m_dest = nullptr;
    m_host = nullptr;
    changed_locked();
}

KResult<RefPtr<UnixSocket>> UnixSocket::accept(Thread& t, bool nonblock)
{
    std::unique_lock lock(g_lock);
    if (m_state != State::Listening)
        return err(Errno::INVAL);
    if (m_pending.empty()) {
        if (nonblock)
            return err(Errno::AGAIN);
        TRY(m_waiters.wait(t, lock, [&] { return !m_pending.empty() || m_state != State::Listening; }));
        if (m_state != State::Listening)
            return err(Errno::INVAL);
    }
    auto server = m_pending.front();
    m_pending.pop_front();
    changed_locked(); // a blocked connect may go on
    return server;
}

bool UnixSocket::peer_full_locked(const UnixSocket& peer, usize bytes) const
{
    if (peer.m_queue.size() >= kQueueMessages)
        return true;
    if (m_type == Type::Dgram)
        return peer.m_queue.size() >= kDgramQueueLength || peer.m_queued_bytes + bytes > kStreamQueueBytes;
    return peer.m_queued_bytes + std::min(bytes, kStreamQueueBytes) > kStreamQueueBytes;
}

KResult<usize> UnixSocket::send(Thread& t, std::span<const u8> data, std::vector<RefPtr<File>> fds,
                                const FdSender& sender, const UnixCred& cred, UnixSocket* to, bool nonblock, bool nosignal)
{
    // A stream carries nothing for an empty write, fds included (Linux).
    if (m_type == Type::Stream && data.empty())
        return 0;
    if (auto host = host_link(); host && !to) {
        if (!fds.empty()) {
            t.kernel().log_once("host socket send fds", "host sockets: passing fds (SCM_RIGHTS) to a host peer is not supported: EOPNOTSUPP");
            return err(Errno::OPNOTSUPP);
        }
        auto sent = host->send(t, data, nonblock);
        if (!sent && sent.error() == Errno::PIPE)
            return broken_pipe(t, nosignal);
        return sent;
    }
    std::unique_lock lock(g_lock);
    if (m_shut_write)
        return broken_pipe(t, nosignal);
    if (!fds.empty()) {
        u64 inflight = g_inflight.contains(sender.uid) ? g_inflight[sender.uid] : 0;
        if (inflight > sender.limit) // Linux's too_many_unix_fds, before this message
            return err(Errno::TOOMANYREFS);
    }
    // Queues a message to `dest`, its fds counted in flight.
    auto enqueue = [&](UnixSocket& dest, std::span<const u8> part) {
        if (!fds.empty())
            g_inflight[sender.uid] += fds.size();
        dest.m_queue.push_back(Message { { part.begin(), part.end() }, std::move(fds), cred, m_name, 0, sender.uid });
        fds.clear(); // a stream's go with its first part
        dest.m_queued_bytes += part.size();
        dest.changed_locked();
    };
    if (m_type == Type::Dgram) {
        RefPtr<UnixSocket> dest = to ? RefPtr<UnixSocket>(to) : m_dest;
        if (!dest)
            return err(Errno::NOTCONN);
        if (data.size() > kMaxMessage)
            return err(Errno::MSGSIZE);
        for (;;) {
            if (dest->m_state == State::Closed) {
                if (dest == m_dest)
                    m_dest = nullptr;
                return err(Errno::CONNREFUSED);
            }
            // A receiver connected to another socket (or a host one)
            // takes nothing from us.
            if ((dest->m_dest && dest->m_dest.get() != this) || dest->m_host)
                return err(Errno::PERM);
            if (dest->m_shut_read)
                return broken_pipe(t, nosignal);
            if (!peer_full_locked(*dest, data.size()))
                break;
            if (nonblock)
                return err(Errno::AGAIN);
            TRY(dest->m_waiters.wait(t, lock, [&] { return !peer_full_locked(*dest, data.size()) || dest->m_state == State::Closed; }));
        }
        enqueue(*dest, data);
        return data.size();
    }

    if (m_state != State::Connected)
        return m_peer_gone ? broken_pipe(t, nosignal) : err(Errno::NOTCONN);
    if (m_type == Type::SeqPacket && data.size() > kMaxMessage)
        return err(Errno::MSGSIZE);
    usize done = 0;
    do {
        if (!m_peer || m_peer_gone || m_peer_shut_read) {
            if (done > 0)
                return done;
            return broken_pipe(t, nosignal);
        }
        usize left = data.size() - done;
        usize want = m_type == Type::SeqPacket ? left : std::min<usize>(left, 64 * 1024);
        if (peer_full_locked(*m_peer, want)) {
            if (nonblock) {
                if (done > 0)
                    return done;
                return err(Errno::AGAIN);
            }
            auto waited = m_waiters.wait(t, lock, [&] {
                return !m_peer || m_peer_gone || m_peer_shut_read || !peer_full_locked(*m_peer, want);
            });
            if (!waited)
                return done > 0 ? KResult<usize>(done) : KResult<usize>(err(waited.error()));
            continue;
        }
        if (m_type == Type::Stream)
            want = std::min(want, kStreamQueueBytes - m_peer->m_queued_bytes);
        enqueue(*m_peer, data.subspan(done, want));
        done += want;
    } while (done < data.size());
    return done;
}

KResult<UnixSocket::Received> UnixSocket::receive(Thread& t, std::span<u8> out, int flags, bool nonblock)
{
    if (auto host = host_link()) {
        auto r = TRY(host->receive(t, out, flags, nonblock));
        r.from = m_type == Type::Dgram ? m_host_peer : "";
        return r;
    }
    std::unique_lock lock(g_lock);
    if (m_state == State::Listening)
        return err(Errno::INVAL);
    if (m_type != Type::Dgram && m_state == State::Unconnected)
        return err(Errno::INVAL);
    bool peek = flags & MSG_PEEK;
    Received r;
    for (;;) {
        if (!m_queue.empty())
            break;
        if (m_error && m_type != Type::Dgram)
            return err(static_cast<Errno>(std::exchange(m_error, 0)));
        if (m_shut_read || m_peer_shut_write || m_peer_gone)
            return r; // end of file
        if (nonblock)
            return err(Errno::AGAIN);
        TRY(m_waiters.wait(t, lock, [&] { return !m_queue.empty() || m_shut_read || m_peer_shut_write || m_peer_gone || m_error; }));
    }
    if (m_type != Type::Stream) {
        Message& m = m_queue.front();
        r.full_size = m.data.size();
        r.bytes = std::min(out.size(), m.data.size());
        std::copy_n(m.data.begin(), r.bytes, out.begin());
        r.truncated = r.bytes < m.data.size();
        r.fds = m.fds;
        r.cred = m.cred;
        r.from = m.from;
        if (!peek) {
            uncount_fds_locked(m);
            m_queued_bytes -= m.data.size();
            m_queue.pop_front();
            // A writer waiting for room in our queue: in the peer or in us.
            if (m_peer)
                m_peer->changed_locked();
            changed_locked();
        }
        return r;
    }

    // A byte stream: messages in order, up to an SCM_RIGHTS one (its fds
    // and no more), with MSG_WAITALL until `out` is full.
    bool waitall = (flags & MSG_WAITALL) && !peek;
    for (;;) {
        usize index = 0;
        while (r.bytes < out.size() && index < m_queue.size()) {
            Message& m = m_queue[index];
            if (r.bytes > 0 && (!m.fds.empty() || (pass_cred && r.cred && m.cred && m.cred->pid != r.cred->pid)))
                break;
            usize n = std::min(out.size() - r.bytes, m.data.size() - m.consumed);
            std::copy_n(m.data.begin() + static_cast<std::ptrdiff_t>(m.consumed), n, out.begin() + static_cast<std::ptrdiff_t>(r.bytes));
            r.bytes += n;
            if (r.from.empty())
                r.from = m.from;
            if (!r.cred)
                r.cred = m.cred;
            bool had_fds = !m.fds.empty();
            if (had_fds && !peek)
                uncount_fds_locked(m);
            if (had_fds)
                r.fds = peek ? m.fds : std::move(m.fds);
            if (peek) {
                index++;
            } else {
                m.consumed += n;
                m_queued_bytes -= n;
                if (m.consumed == m.data.size())
                    m_queue.pop_front();
            }
            if (had_fds)
                break;
        }
        if (!peek && r.bytes > 0) {
            if (m_peer)
                m_peer->changed_locked();
            changed_locked();
        }
        if (!waitall || r.bytes == out.size() || !r.fds.empty())
            return r;
        if (m_shut_read || m_peer_shut_write || m_peer_gone || nonblock)
            return r;
        auto waited = m_waiters.wait(t, lock, [&] { return !m_queue.empty() || m_shut_read || m_peer_shut_write || m_peer_gone; });
        if (!waited)
            return r.bytes > 0 ? KResult<Received>(std::move(r)) : KResult<Received>(err(waited.error()));
    }
}

KResult<void> UnixSocket::shutdown(int how)
{
    if (how < SHUT_RD || how > SHUT_RDWR)
        return err(Errno::INVAL);
    if (auto host = host_link())
        return host->shutdown(how);
    std::lock_guard lock(g_lock);
    if (m_type != Type::Dgram && m_state != State::Connected)
        return err(Errno::NOTCONN);
    bool rd = how != SHUT_WR, wr = how != SHUT_RD;
    m_shut_read |= rd;
    m_shut_write |= wr;
    if (m_type != Type::Dgram && m_peer) {
        m_peer->m_peer_shut_write |= wr;
        m_peer->m_peer_shut_read |= rd;
        m_peer->changed_locked();
    }
    changed_locked();
    return {};
}

void UnixSocket::close()
{
    std::vector<RefPtr<UnixSocket>> pending;
    std::deque<Message> dropped; // their fds close once we are unlocked
    {
        std::lock_guard lock(g_lock);
        if (m_state == State::Closed)
            return;
        bool unread = !m_queue.empty();
        m_state = State::Closed;
        if (!m_name.empty() && m_name[0] == '\0')
            g_abstract.erase(m_name);
        else if (m_path_key)
            g_paths.erase(*m_path_key);
        if (m_peer) {
            m_peer->m_peer_gone = true;
            m_peer->m_peer = nullptr;
            if (unread)
                m_peer->m_error = static_cast<int>(Errno::CONNRESET);
            m_peer->changed_locked();
            m_peer = nullptr;
        }
        pending.assign(m_pending.begin(), m_pending.end());
        m_pending.clear();
        for (auto& m : m_queue)
            uncount_fds_locked(m);
        dropped.swap(m_queue);
        m_queued_bytes = 0;
        m_dest = nullptr;
        m_host = nullptr;
        changed_locked();
    }
    release_dropped(std::move(dropped));
    // Connections nobody accepted: their clients see the end.
    for (auto& p : pending)
        p->close();
}

u32 UnixSocket::poll_events()
{
    if (auto host = host_link())
        return host->poll_events();
    std::lock_guard lock(g_lock);
    u32 events = 0;
    if (m_state == State::Listening)
        return m_pending.empty() ? 0 : POLLIN | POLLRDNORM;
    if (m_error)
        events |= POLLERR;
    bool connection = m_type != Type::Dgram;
    bool read_end = m_shut_read || m_peer_shut_write || m_peer_gone;
    if ((m_shut_read && m_shut_write) || m_peer_gone || (connection && m_state == State::Unconnected))
        events |= POLLHUP;
    if (read_end)
        events |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (!m_queue.empty())
        events |= POLLIN | POLLRDNORM;
    UnixSocket* peer = connection ? m_peer : m_dest.get();
    if (!(peer && peer->m_state != State::Closed && peer_full_locked(*peer, 1)))
        events |= POLLOUT | POLLWRNORM | POLLWRBAND;
    return events;
}

std::string UnixSocket::name()
{
    std::lock_guard lock(g_lock);
    return m_name;
}

KResult<std::string> UnixSocket::peer_name()
{
    std::lock_guard lock(g_lock);
    if (m_host)
        return m_host_peer;
    if (m_type == Type::Dgram)
        return m_dest ? KResult<std::string>(m_dest->m_name) : err(Errno::NOTCONN);
    if (!m_peer)
        return err(Errno::NOTCONN);
    return m_peer->m_name;
}

std::optional<UnixCred> UnixSocket::peer_cred()
{
    if (auto host = host_link())
        return host->peer_cred();
    std::lock_guard lock(g_lock);
    return m_peer_cred;
}

bool UnixSocket::listening()
{
    std::lock_guard lock(g_lock);
    return m_state == State::Listening;
}

int UnixSocket::take_error()
{
    if (auto host = host_link())
        return host->take_error();
    std::lock_guard lock(g_lock);
    return std::exchange(m_error, 0);
}

SocketFile::SocketFile(RefPtr<UnixSocket> socket, int flags)
    : File(make_ref<SocketInode>(), O_RDWR | (flags & O_NONBLOCK)), m_socket(std::move(socket))
{
}

SocketFile::~SocketFile() { m_socket->close(); }

namespace {

// SCM_CREDENTIALS by default: the real ids (Linux's scm_send).
UnixCred cred_of(Thread& t)
{
    auto c = t.process().creds();
    return { t.process().pid(), c.uid, c.gid };
}

} // namespace

KResult<usize> SocketFile::read(std::span<u8> out, u64)
{
    Thread* t = current_thread();
    if (!t)
        return err(Errno::AGAIN);
    auto r = TRY(m_socket->receive(*t, out, 0, nonblocking()));
    return r.bytes;
}

KResult<usize> SocketFile::write(std::span<const u8> data, u64)
{
    Thread* t = current_thread();
    if (!t)
        return err(Errno::AGAIN);
    return m_socket->send(*t, data, {}, FdSender { 0, 0 }, cred_of(*t), nullptr, nonblocking(), false);
}

RefPtr<File> make_socket_file(RefPtr<UnixSocket> socket, int flags) { return RefPtr<File>(new SocketFile(std::move(socket), flags)); }

UnixSocket* socket_of(File& file)
{
    auto* s = dynamic_cast<SocketFile*>(&file);
    return s ? &s->socket() : nullptr;
}

} // namespace umk::kernel
