// socket(2) and friends for AF_UNIX (unix(7)). Linux: net/socket.c,
// net/unix/af_unix.c, net/core/scm.c. Other address families are not
// there yet: EAFNOSUPPORT, logged once.
#include "kernel/syscalls/handlers.h"

#include "kernel/ipc/host_socket.h"
#include "kernel/ipc/unix_socket.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace umk::kernel {

namespace {

constexpr u64 kIovMax = 1024;    // UIO_MAXIOV
constexpr usize kScmMaxFd = 253; // SCM_MAX_FD

KResult<UnixSocket*> socket_fd(Thread& t, int fd, RefPtr<File>& file)
{
    file = TRY(get_file(t, fd));
    auto* s = socket_of(*file);
    if (!s)
        return err(Errno::NOTSOCK);
    return s;
}

// SO_PEERCRED: the effective ids (Linux's cred_to_ucred of the
// connecting or listening task).
UnixCred peer_cred_of(Thread& t)
{
    auto c = t.process().creds();
    return { t.process().pid(), c.euid, c.egid };
}

// SCM_CREDENTIALS by default: the real ids (Linux's scm_send).
UnixCred scm_cred_of(Thread& t)
{
    auto c = t.process().creds();
    return { t.process().pid(), c.uid, c.gid };
}

FdSender fd_sender_of(Thread& t)
{
    auto c = t.process().creds();
    bool unlimited = c.has(kCapSysResource) || c.has(kCapSysAdmin);
    return { c.uid, unlimited ? ~u64 { 0 } : t.process().rlimit(RLIMIT_NOFILE).cur };
}

// Socket data crosses the kernel in pieces of at most this much.
constexpr usize kSocketChunk = 256 * 1024;

KResult<UnixSocket::Type> socket_type(int type)
{
    switch (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
    case SOCK_STREAM:
        return UnixSocket::Type::Stream;
    case SOCK_DGRAM:
        return UnixSocket::Type::Dgram;
    case SOCK_SEQPACKET:
        return UnixSocket::Type::SeqPacket;
    }
    return err(Errno::SOCKTNOSUPPORT);
}

KResult<void> check_domain(Thread& t, int domain, int protocol)
{
    if (domain != AF_UNIX) {
        t.kernel().log_once(fmt::format("socket family {}", domain),
                            fmt::format("socket: address family {} not supported yet: EAFNOSUPPORT", domain));
        return err(Errno::AFNOSUPPORT);
    }
    if (protocol != 0 && protocol != PF_UNIX)
        return err(Errno::PROTONOSUPPORT);
    return {};
}

// A sockaddr_un from the guest: "" (autobind: the family alone), a path,
// or an abstract name ('\0' first).
KResult<std::string> copy_in_address(Thread& t, GuestAddr addr, u32 len)
{
    if (len < sizeof(sa_family_t) || len > sizeof(sockaddr_un))
        return err(Errno::INVAL);
    sockaddr_un sun {};
    TRY(t.mm().copy_in(addr.value, std::span(reinterpret_cast<u8*>(&sun), len)));
    if (sun.sun_family != AF_UNIX)
        return err(Errno::INVAL);
    usize path_len = len - offsetof(sockaddr_un, sun_path);
    if (path_len == 0)
        return std::string();
    if (sun.sun_path[0] == '\0')
        return std::string(sun.sun_path, path_len);
    return std::string(sun.sun_path, strnlen(sun.sun_path, path_len));
}

// Writes `name` as a sockaddr_un (the family alone when unbound) to
// addr/*len_ptr, as much as the guest's length allows; the full length
// goes to *len_ptr.
KResult<void> copy_out_address(Thread& t, GuestAddr addr, GuestAddr len_ptr, const std::string& name)
{
    if (addr.null())
        return {};
    i32 room = TRY(copy_in<i32>(t, len_ptr.value));
    if (room < 0)
        return err(Errno::INVAL);
    sockaddr_un sun {};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, name.data(), std::min(name.size(), sizeof sun.sun_path));
    usize full = offsetof(sockaddr_un, sun_path) + name.size() + (!name.empty() && name[0] != '\0' ? 1 : 0);
    full = std::min(full, sizeof sun);
    TRY(t.mm().copy_out(addr.value, std::span(reinterpret_cast<const u8*>(&sun), std::min<usize>(full, static_cast<usize>(room)))));
    TRY(copy_out(t, len_ptr.value, static_cast<i32>(full)));
    return {};
}

// A path, not an abstract name or autobind's empty one.
[[gnu::noinline]] bool names_path(const std::string& name) { return !name.empty() && name.front() != '\0'; }

// What a name refers to (connect, sendto): a guest socket, or a host
// socket's file in a volume open to them (its dentry holds the inode
// that holds the O_PATH fd). Abstract names are per socket type (Linux
// hashes the type in): another type's is not found.
struct Address {
    RefPtr<UnixSocket> socket;
    RefPtr<Dentry> host_node;
    int host_fd() const { return host_node->inode().connectable_host_socket(); }
};

KResult<Address> lookup_address(Thread& t, const std::string& name, UnixSocket::Type type)
{
    if (name.empty())
        return err(Errno::INVAL);
    if (name[0] == '\0') {
        auto s = UnixSocket::find_abstract(name);
        return s && s->type() == type ? KResult<Address>(Address { s, nullptr }) : err(Errno::CONNREFUSED);
    }
    auto dentry = TRY(lookup_at(t, kAtFdcwd, name, Follow::Yes, false));
    // A host socket's file is looked up again: a daemon that restarted
    // made a new one under the same name, and the cached inode holds the
    // old one's fd.
    if (auto parent = dentry->parent(); parent && dentry->inode().connectable_host_socket() >= 0) {
        parent->forget_child(dentry->name());
        dentry = TRY(parent->child(dentry->name()));
    }
    auto attr = TRY(dentry->inode().attr());
    TRY(check_access(attr, t.process().creds(), kMayWrite));
    if (!S_ISSOCK(attr.mode))
        return err(Errno::CONNREFUSED);
    if (auto s = UnixSocket::find_path({ attr.dev, attr.ino }))
        return Address { s, nullptr };
    if (dentry->inode().connectable_host_socket() >= 0)
        return Address { nullptr, dentry };
    return err(Errno::CONNREFUSED);
}

KResult<u64> new_socket_fd(Thread& t, RefPtr<UnixSocket> socket, int type_flags)
{
    return install_fd(t, make_socket_file(std::move(socket), (type_flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0),
                      type_flags & SOCK_CLOEXEC);
}

} // namespace

KResult<u64> sys_socket(Thread& t, int domain, int type, int protocol)
{
    TRY(check_domain(t, domain, protocol));
    if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
        return err(Errno::INVAL);
    auto kind = TRY(socket_type(type));
    return new_socket_fd(t, make_ref<UnixSocket>(kind), type);
}

KResult<u64> sys_socketpair(Thread& t, int domain, int type, int protocol, GuestAddr sv)
{
    TRY(check_domain(t, domain, protocol));
    if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
        return err(Errno::INVAL);
    auto kind = TRY(socket_type(type));
    auto a = make_ref<UnixSocket>(kind), b = make_ref<UnixSocket>(kind);
    UnixSocket::connect_pair(*a, *b, peer_cred_of(t));
    int fds[2];
    fds[0] = static_cast<int>(TRY(new_socket_fd(t, a, type)));
    auto second = new_socket_fd(t, b, type);
    if (!second) {
        (void)t.fds().close(fds[0]);
        return err(second.error());
    }
    fds[1] = static_cast<int>(*second);
    if (auto r = t.mm().copy_out(sv.value, std::span(reinterpret_cast<const u8*>(fds), sizeof fds)); !r) {
        (void)t.fds().close(fds[0]);
        (void)t.fds().close(fds[1]);
        return err(r.error());
    }
    return 0;
}

KResult<u64> sys_bind(Thread& t, int fd, GuestAddr addr, u32 len)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    auto copied = copy_in_address(t, addr, len);
    if (!copied)
        return err(copied.error());
    std::string name = std::move(*copied);
    if (!names_path(name)) {
        TRY(s->bind(name, std::nullopt));
        return 0;
    }
    if (!s->name().empty())
        return err(Errno::INVAL);
    // A socket inode in the file system, as mknod(S_IFSOCK) would make it.
    auto pn = parent_for_create(t, kAtFdcwd, name);
    if (!pn)
        return err(pn.error() == Errno::EXIST ? Errno::ADDRINUSE : pn.error());
    auto creds = t.process().creds();
    u32 mode = S_IFSOCK | (0777 & ~t.process().fs().umask);
    auto inode = TRY(pn->parent->inode().create(pn->name, mode, creds.fsuid, new_gid(t, *pn)));
    pn->parent->add_child(pn->name, inode);
    auto attr = TRY(inode->attr());
    TRY(s->bind(name, std::pair { attr.dev, attr.ino }));
    return 0;
}

KResult<u64> sys_listen(Thread& t, int fd, int backlog)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    TRY(s->listen(backlog, peer_cred_of(t)));
    return 0;
}

KResult<u64> sys_connect(Thread& t, int fd, GuestAddr addr, u32 len)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    // AF_UNSPEC dissolves a datagram socket's association (unix_dgram_connect).
    if (s->type() == UnixSocket::Type::Dgram && len >= sizeof(sa_family_t)
        && TRY(copy_in<sa_family_t>(t, addr.value)) == AF_UNSPEC) {
        s->disconnect();
        return 0;
    }
    auto name = TRY(copy_in_address(t, addr, len));
    auto target = TRY(lookup_address(t, name, s->type()));
    bool nonblock = file->flags() & O_NONBLOCK;
    if (target.host_node)
        TRY(s->connect_host(t, target.host_fd(), name, nonblock));
    else
        TRY(s->connect(t, *target.socket, peer_cred_of(t), nonblock));
    return 0;
}

KResult<u64> sys_accept4(Thread& t, int fd, GuestAddr addr, GuestAddr len_ptr, int flags)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return err(Errno::INVAL);
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    if (s->type() == UnixSocket::Type::Dgram)
        return err(Errno::OPNOTSUPP);
    auto server = TRY(s->accept(t, file->flags() & O_NONBLOCK));
    auto peer = server->peer_name();
    int new_fd = static_cast<int>(TRY(new_socket_fd(t, server, flags)));
    if (auto r = copy_out_address(t, addr, len_ptr, peer ? *peer : std::string()); !r) {
        (void)t.fds().close(new_fd);
        return err(r.error());
    }
    return static_cast<u64>(new_fd);
}

KResult<u64> sys_accept(Thread& t, int fd, GuestAddr addr, GuestAddr len_ptr) { return sys_accept4(t, fd, addr, len_ptr, 0); }

KResult<u64> sys_getsockname(Thread& t, int fd, GuestAddr addr, GuestAddr len_ptr)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    TRY(copy_out_address(t, addr, len_ptr, s->name()));
    return 0;
}

KResult<u64> sys_getpeername(Thread& t, int fd, GuestAddr addr, GuestAddr len_ptr)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    TRY(copy_out_address(t, addr, len_ptr, TRY(s->peer_name())));
    return 0;
}

KResult<u64> sys_shutdown(Thread& t, int fd, int how)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    TRY(s->shutdown(how));
    return 0;
}

namespace {

struct GuestMsghdr {
    u64 name;
    u32 namelen;
    u32 pad;
    u64 iov;
    u64 iovlen;
    u64 control;
    u64 controllen;
    i32 flags;
    u32 pad2;
};
static_assert(sizeof(GuestMsghdr) == 56);

struct GuestIovec {
    u64 base, len;
};

struct GuestCmsghdr {
    u64 len;
    i32 level, type;
};
constexpr usize cmsg_align(usize n) { return (n + 7) & ~usize { 7 }; }

KResult<std::vector<GuestIovec>> copy_in_iovecs(Thread& t, u64 iov, u64 count)
{
    if (count > kIovMax)
        return err(Errno::MSGSIZE);
    std::vector<GuestIovec> v(count);
    if (count)
        TRY(t.mm().copy_in(iov, std::span(reinterpret_cast<u8*>(v.data()), count * sizeof(GuestIovec))));
    u64 total = 0;
    for (auto& e : v) {
        if (e.len > kMaxRwCount || (total += e.len) > kMaxRwCount)
            return err(Errno::INVAL);
    }
    return v;
}

// SCM_RIGHTS and SCM_CREDENTIALS of a sendmsg.
struct Ancillary {
    std::vector<RefPtr<File>> fds;
    std::optional<UnixCred> cred;
};

KResult<Ancillary> parse_control(Thread& t, u64 control, u64 length)
{
    Ancillary a;
    if (length == 0)
        return a;
    if (length > 64 * 1024)
        return err(Errno::NOBUFS);
    std::vector<u8> buf(length);
    TRY(t.mm().copy_in(control, buf));
    usize off = 0;
    while (off + sizeof(GuestCmsghdr) <= length) {
        GuestCmsghdr h;
        std::memcpy(&h, buf.data() + off, sizeof h);
        if (h.len < sizeof h || h.len > length - off)
            return err(Errno::INVAL);
        usize data_len = h.len - sizeof h;
        const u8* data = buf.data() + off + sizeof h;
        if (h.level != SOL_SOCKET)
            return err(Errno::INVAL);
        if (h.type == SCM_RIGHTS) {
            usize n = data_len / sizeof(int);
            if (n == 0 || a.fds.size() + n > kScmMaxFd)
                return err(Errno::INVAL);
            for (usize i = 0; i < n; i++) {
                int fd;
                std::memcpy(&fd, data + i * sizeof fd, sizeof fd);
                a.fds.push_back(TRY(get_file(t, fd)));
            }
        } else if (h.type == SCM_CREDENTIALS) {
            if (data_len != sizeof(UnixCred))
                return err(Errno::INVAL);
            UnixCred c;
            std::memcpy(&c, data, sizeof c);
            // Linux's scm_check_creds: one's own ids (or the capability).
            auto creds = t.process().creds();
            bool pid_ok = c.pid == t.process().pid() || creds.has(kCapSysAdmin);
            bool uid_ok = c.uid == creds.uid || c.uid == creds.euid || c.uid == creds.suid || creds.has(kCapSetuid);
            bool gid_ok = c.gid == creds.gid || c.gid == creds.egid || c.gid == creds.sgid || creds.has(kCapSetgid);
            if (!pid_ok || !uid_ok || !gid_ok)
                return err(Errno::PERM);
            a.cred = c;
        } else {
            return err(Errno::INVAL);
        }
        off += cmsg_align(h.len);
    }
    return a;
}

// Guest bytes named by iovecs, `offset` bytes in: copied in or out a
// chunk at a time.
KResult<void> gather(Thread& t, const std::vector<GuestIovec>& iov, u64 offset, std::span<u8> out)
{
    usize done = 0;
    for (auto& e : iov) {
        if (done == out.size())
            break;
        if (offset >= e.len) {
            offset -= e.len;
            continue;
        }
        usize n = std::min<usize>(e.len - offset, out.size() - done);
        TRY(t.mm().copy_in(e.base + offset, out.subspan(done, n)));
        done += n;
        offset = 0;
    }
    return {};
}

KResult<void> scatter(Thread& t, const std::vector<GuestIovec>& iov, u64 offset, std::span<const u8> data)
{
    usize done = 0;
    for (auto& e : iov) {
        if (done == data.size())
            break;
        if (offset >= e.len) {
            offset -= e.len;
            continue;
        }
        usize n = std::min<usize>(e.len - offset, data.size() - done);
        TRY(t.mm().copy_out(e.base + offset, data.subspan(done, n)));
        done += n;
        offset = 0;
    }
    return {};
}

u64 total_length(const std::vector<GuestIovec>& iov)
{
    u64 total = 0;
    for (auto& e : iov)
        total += e.len; // copy_in_iovecs bounded the sum
    return total;
}

// sendto/sendmsg: a message whole (datagram, seqpacket), a stream in
// chunks, so that the kernel never holds more than a chunk per caller.
KResult<u64> do_send(Thread& t, int fd, const std::vector<GuestIovec>& iov, Ancillary anc, int flags, GuestAddr addr,
                     u32 addrlen)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    if (flags & MSG_OOB)
        return err(Errno::OPNOTSUPP);
    Address to;
    if (!addr.null() && addrlen) {
        if (s->type() != UnixSocket::Type::Dgram)
            return err(s->peer_name() ? Errno::ISCONN : Errno::OPNOTSUPP);
        to = TRY(lookup_address(t, TRY(copy_in_address(t, addr, addrlen)), s->type()));
    }
    UnixCred cred = anc.cred.value_or(scm_cred_of(t));
    FdSender sender = fd_sender_of(t);
    bool nonblock = (flags & MSG_DONTWAIT) || (file->flags() & O_NONBLOCK);
    bool nosignal = flags & MSG_NOSIGNAL;
    u64 total = total_length(iov);
    if (s->type() != UnixSocket::Type::Stream) {
        if (total > kSocketChunk)
            return err(Errno::MSGSIZE);
        std::vector<u8> data(total);
        TRY(gather(t, iov, 0, data));
        if (to.host_node) {
            if (!anc.fds.empty())
                return err(Errno::OPNOTSUPP); // not to a host peer (kernel/ipc/host_socket.h)
            return TRY(HostLink::send_to(t, to.host_fd(), data, nonblock));
        }
        return TRY(s->send(t, data, std::move(anc.fds), sender, cred, to.socket.get(), nonblock, nosignal));
    }
    std::vector<u8> chunk(std::min<u64>(total, kSocketChunk));
    u64 done = 0;
    do {
        usize n = static_cast<usize>(std::min<u64>(total - done, chunk.size()));
        TRY(gather(t, iov, done, std::span(chunk.data(), n)));
        auto sent = s->send(t, std::span(chunk.data(), n), std::move(anc.fds), sender, cred, nullptr, nonblock, nosignal);
        anc.fds.clear();
        if (!sent)
            return done > 0 ? KResult<u64>(done) : KResult<u64>(err(sent.error()));
        done += *sent;
        if (*sent < n)
            break;
    } while (done < total);
    return done;
}

struct ReceiveResult {
    u64 value;   // what recvmsg returns
    u32 msg_flags;
    UnixSocket::Received first; // the ancillary data and sender of the first piece
};

// recvfrom/recvmsg into the iovecs: one receive (at most a chunk), more
// only for a stream with MSG_WAITALL.
KResult<ReceiveResult> do_receive(Thread& t, int fd, const std::vector<GuestIovec>& iov, int flags)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    if (flags & MSG_OOB)
        return err(Errno::INVAL);
    if (flags & MSG_ERRQUEUE)
        return err(Errno::AGAIN);
    bool nonblock = (flags & MSG_DONTWAIT) || (file->flags() & O_NONBLOCK);
    u64 total = total_length(iov);
    std::vector<u8> chunk(std::min<u64>(total, kSocketChunk));
    ReceiveResult result {};
    result.first = TRY(s->receive(t, chunk, flags, nonblock));
    TRY(scatter(t, iov, 0, std::span(chunk.data(), result.first.bytes)));
    u64 done = result.first.bytes;
    bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK) && s->type() == UnixSocket::Type::Stream;
    while (waitall && done < total && result.first.bytes == chunk.size() && result.first.fds.empty()) {
        usize n = static_cast<usize>(std::min<u64>(total - done, chunk.size()));
        auto more = s->receive(t, std::span(chunk.data(), n), flags, nonblock);
        if (!more || more->bytes == 0)
            break; // what came so far is the answer
        TRY(scatter(t, iov, done, std::span(chunk.data(), more->bytes)));
        done += more->bytes;
        if (more->bytes < n || !more->fds.empty())
            break;
    }
    result.value = done;
    result.msg_flags = result.first.truncated ? static_cast<u32>(MSG_TRUNC) : 0U;
    if ((flags & MSG_TRUNC) && s->type() != UnixSocket::Type::Stream)
        result.value = result.first.full_size;
    return result;
}

} // namespace

KResult<u64> sys_sendto(Thread& t, int fd, GuestAddr buf, u64 len, int flags, GuestAddr addr, u32 addrlen)
{
    return do_send(t, fd, { GuestIovec { buf.value, std::min(len, kMaxRwCount) } }, {}, flags, addr, addrlen);
}

KResult<u64> sys_recvfrom(Thread& t, int fd, GuestAddr buf, u64 len, int flags, GuestAddr addr, GuestAddr len_ptr)
{
    auto result = TRY(do_receive(t, fd, { GuestIovec { buf.value, std::min(len, kMaxRwCount) } }, flags));
    auto& r = result.first;
    if (!addr.null()) {
        if (r.from.empty())
            TRY(copy_out(t, len_ptr.value, i32 { 0 }));
        else
            TRY(copy_out_address(t, addr, len_ptr, r.from));
    }
    return result.value;
}

KResult<u64> sys_sendmsg(Thread& t, int fd, GuestAddr msg, int flags)
{
    auto m = TRY(copy_in<GuestMsghdr>(t, msg.value));
    auto iov = TRY(copy_in_iovecs(t, m.iov, m.iovlen));
    auto anc = TRY(parse_control(t, m.control, m.controllen));
    return do_send(t, fd, iov, std::move(anc), flags, GuestAddr { m.name }, m.namelen);
}

KResult<u64> sys_recvmsg(Thread& t, int fd, GuestAddr msg, int flags)
{
    auto m = TRY(copy_in<GuestMsghdr>(t, msg.value));
    auto iov = TRY(copy_in_iovecs(t, m.iov, m.iovlen));
    auto result = TRY(do_receive(t, fd, iov, flags));
    auto& r = result.first;
    // The sender's name.
    u32 namelen = 0;
    if (m.name && !r.from.empty()) {
        sockaddr_un sun {};
        sun.sun_family = AF_UNIX;
        std::memcpy(sun.sun_path, r.from.data(), std::min(r.from.size(), sizeof sun.sun_path));
        namelen = static_cast<u32>(std::min(offsetof(sockaddr_un, sun_path) + r.from.size() + (r.from[0] != '\0' ? 1 : 0), sizeof sun));
        TRY(t.mm().copy_out(m.name, std::span(reinterpret_cast<const u8*>(&sun), std::min(namelen, m.namelen))));
    }
    // Ancillary data: credentials (SO_PASSCRED), then the fds that fit.
    std::vector<u8> control;
    auto add = [&](int type, const void* payload, usize size) {
        usize at = control.size();
        control.resize(at + cmsg_align(sizeof(GuestCmsghdr) + size));
        GuestCmsghdr h { sizeof(GuestCmsghdr) + size, SOL_SOCKET, type };
        std::memcpy(control.data() + at, &h, sizeof h);
        std::memcpy(control.data() + at + sizeof h, payload, size);
    };
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    if (s->pass_cred && r.cred) {
        if (m.controllen >= cmsg_align(sizeof(GuestCmsghdr) + sizeof(UnixCred)))
            add(SCM_CREDENTIALS, &*r.cred, sizeof(UnixCred));
        else
            result.msg_flags |= MSG_CTRUNC;
    }
    if (!r.fds.empty()) {
        usize room = m.controllen > control.size() ? m.controllen - control.size() : 0;
        usize fit = room >= sizeof(GuestCmsghdr) ? std::min(r.fds.size(), (room - sizeof(GuestCmsghdr)) / sizeof(int)) : 0;
        if (fit < r.fds.size())
            result.msg_flags |= MSG_CTRUNC; // the rest are closed
        std::vector<int> installed;
        for (usize i = 0; i < fit; i++) {
            auto nfd = install_fd(t, r.fds[i], flags & MSG_CMSG_CLOEXEC);
            if (!nfd) {
                result.msg_flags |= MSG_CTRUNC;
                break;
            }
            installed.push_back(static_cast<int>(*nfd));
        }
        if (!installed.empty())
            add(SCM_RIGHTS, installed.data(), installed.size() * sizeof(int));
    }
    if (!control.empty()) {
        // The last header's padding need not fit (Linux's put_cmsg).
        usize used = std::min<usize>(control.size(), m.controllen);
        TRY(t.mm().copy_out(m.control, std::span(control.data(), used)));
        m.controllen = used;
    } else {
        m.controllen = 0;
    }
    m.namelen = m.name ? namelen : 0;
    m.flags = static_cast<i32>(result.msg_flags);
    TRY(copy_out(t, msg.value, m));
    return result.value;
}

KResult<u64> sys_setsockopt(Thread& t, int fd, int level, int name, GuestAddr value, u32 len)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    if (level != SOL_SOCKET) {
        t.kernel().log_once(fmt::format("setsockopt {} {}", level, name),
                            fmt::format("setsockopt: level {} option {} not supported: ENOPROTOOPT", level, name));
        return err(Errno::NOPROTOOPT);
    }
    if (len < sizeof(int))
        return err(Errno::INVAL);
    int v = TRY(copy_in<i32>(t, value.value));
    switch (name) {
    case SO_PASSCRED:
        s->pass_cred = v != 0;
        return 0;
    case SO_SNDBUF:
    case SO_RCVBUF: {
        // Linux doubles the value (bookkeeping overhead), within limits.
        int doubled = std::clamp(v, 2304, 212992) * 2;
        (name == SO_SNDBUF ? s->sndbuf : s->rcvbuf) = doubled;
        return 0;
    }
    case SO_REUSEADDR:
    case SO_KEEPALIVE:
        return 0; // no meaning for unix sockets, as on Linux
    }
    t.kernel().log_once(fmt::format("setsockopt SOL_SOCKET {}", name),
                        fmt::format("setsockopt: SOL_SOCKET option {} not supported: ENOPROTOOPT", name));
    return err(Errno::NOPROTOOPT);
}

KResult<u64> sys_getsockopt(Thread& t, int fd, int level, int name, GuestAddr value, GuestAddr len_ptr)
{
    RefPtr<File> file;
    auto* s = TRY(socket_fd(t, fd, file));
    i32 room = TRY(copy_in<i32>(t, len_ptr.value));
    if (room < 0)
        return err(Errno::INVAL);
    if (level != SOL_SOCKET) {
        t.kernel().log_once(fmt::format("getsockopt {} {}", level, name),
                            fmt::format("getsockopt: level {} option {} not supported: ENOPROTOOPT", level, name));
        return err(Errno::NOPROTOOPT);
    }
    auto put = [&](const void* data, usize size) -> KResult<u64> {
        usize n = std::min<usize>(size, static_cast<usize>(room));
        TRY(t.mm().copy_out(value.value, std::span(static_cast<const u8*>(data), n)));
        TRY(copy_out(t, len_ptr.value, static_cast<i32>(n)));
        return 0;
    };
    int v;
    switch (name) {
    case SO_TYPE:
        v = static_cast<int>(s->type());
        return put(&v, sizeof v);
    case SO_ERROR:
        v = s->take_error();
        return put(&v, sizeof v);
    case SO_SNDBUF:
        v = s->sndbuf;
        return put(&v, sizeof v);
    case SO_RCVBUF:
        v = s->rcvbuf;
        return put(&v, sizeof v);
    case SO_PASSCRED:
        v = s->pass_cred;
        return put(&v, sizeof v);
    case SO_ACCEPTCONN:
        v = s->listening();
        return put(&v, sizeof v);
    case SO_DOMAIN:
        v = AF_UNIX;
        return put(&v, sizeof v);
    case SO_PROTOCOL:
        v = 0;
        return put(&v, sizeof v);
    case SO_REUSEADDR:
    case SO_KEEPALIVE:
        v = 0;
        return put(&v, sizeof v);
    case SO_PEERCRED: {
        UnixCred c = s->peer_cred().value_or(UnixCred { 0, ~0U, ~0U });
        return put(&c, sizeof c);
    }
    }
    t.kernel().log_once(fmt::format("getsockopt SOL_SOCKET {}", name),
                        fmt::format("getsockopt: SOL_SOCKET option {} not supported: ENOPROTOOPT", name));
    return err(Errno::NOPROTOOPT);
}

} // namespace umk::kernel
