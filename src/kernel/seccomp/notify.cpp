#include "kernel/seccomp/notify.h"

#include "kernel/syscalls/helpers.h"
#include "kernel/task/poll_hub.h"
#include "kernel/vfs/anon_inode.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>

namespace umk::kernel::seccomp {

namespace {

// struct seccomp_notif, seccomp_notif_resp, seccomp_notif_addfd.
struct Notif {
    u64 id;
    u32 pid;
    u32 flags;
    Data data;
};
static_assert(sizeof(Notif) == 80);
struct Resp {
    u64 id;
    i64 val;
    i32 error;
    u32 flags;
};
static_assert(sizeof(Resp) == 24);
struct AddFd {
    u64 id;
    u32 flags;
    u32 srcfd;
    u32 newfd;
    u32 newfd_flags;
};
static_assert(sizeof(AddFd) == 24);

template <class T>
KResult<T> read_struct(Thread& t, u64 addr)
{
    T v;
    TRY(t.mm().copy_in(addr, std::span(reinterpret_cast<u8*>(&v), sizeof v)));
    return v;
}

u64 first_id()
{
    // Not guessable, as Linux's get_random_u64().
    u64 v = 0;
    while (getrandom(&v, sizeof v, 0) != sizeof v) {
    }
    return v;
}

class ListenerFile final : public File {
public:
    ListenerFile(std::shared_ptr<Notifier> notifier)
        : File(make_ref<AnonInode>("seccomp notify"), O_RDWR), m_notifier(std::move(notifier))
    {
    }
    ~ListenerFile() override { m_notifier->listener_closed(); }
    KResult<usize> read(std::span<u8>, u64) override { return err(Errno::INVAL); }
    KResult<usize> write(std::span<const u8>, u64) override { return err(Errno::INVAL); }
    bool seekable() const override { return false; }
    u32 poll_events() override { return m_notifier->poll_events(); }
    bool pollable() const override { return true; }
    KResult<u64> ioctl(Thread& t, u64 request, u64 argument) override
    {
        switch (request) {
        case SECCOMP_IOCTL_NOTIF_RECV:
            return m_notifier->receive(t, argument);
        case SECCOMP_IOCTL_NOTIF_SEND:
            return m_notifier->send(t, argument);
        case SECCOMP_IOCTL_NOTIF_ID_VALID:
        case 0x80082102: // its first, wrong number (_IOR), which Linux still takes
            return m_notifier->id_valid(t, argument);
        case SECCOMP_IOCTL_NOTIF_ADDFD:
            return m_notifier->add_fd(t, argument);
        }
        return err(Errno::INVAL);
    }

private:
    std::shared_ptr<Notifier> m_notifier;
};

} // namespace

RefPtr<File> make_listener(std::shared_ptr<Notifier> notifier) { return RefPtr<File>(new ListenerFile(std::move(notifier))); }

Notifier::Request* Notifier::find_locked(u64 id)
{
    for (auto& r : m_requests)
        if (r.id == id)
            return &r;
    return nullptr;
}

KResult<Notifier::Answer> Notifier::notify(Thread& t, const Data& data)
{
    std::unique_lock lock(m_lock);
    if (!m_listening)
        return err(Errno::NOSYS);
    if (m_next_id == 1)
        m_next_id = first_id();
    u64 id = m_next_id++;
    m_requests.push_back(Request { id, &t, data });
    m_receivers.wake_all();
    PollHub::the().notify();
    auto waited = m_callers.wait(t, lock, [&] {
        auto* r = find_locked(id);
        return !r || r->state == State::Answered || !m_listening;
    });
    auto* r = find_locked(id);
    KResult<Answer> result = err(Errno::NOSYS); // the listener went
    if (r && r->state == State::Answered)
        result = r->answer; // an answer wins over a signal that came with it
    else if (!waited)
        result = err(waited.error()); // ERESTARTSYS: the call starts over
    m_requests.remove_if([&](const Request& q) { return q.id == id; });
    PollHub::the().notify();
    return result;
}

KResult<u64> Notifier::receive(Thread& supervisor, u64 user_struct)
{
    // The buffer must come zeroed (Linux's check_zeroed_user).
    auto in = TRY(read_struct<Notif>(supervisor, user_struct));
    const u8* bytes = reinterpret_cast<const u8*>(&in);
    for (usize i = 0; i < sizeof in; i++)
        if (bytes[i])
            return err(Errno::INVAL);
    std::unique_lock lock(m_lock);
    Request* r = nullptr;
    auto waited = m_receivers.wait(supervisor, lock, [&] {
        for (auto& q : m_requests)
            if (q.state == State::Waiting)
                return (r = &q) != nullptr;
        return false;
    });
    if (!waited)
        return err(Errno::INTR);
    Notif out {};
    out.id = r->id;
    out.pid = static_cast<u32>(r->thread->tid());
    out.data = r->data;
    // The caller may go meanwhile: the copy-out comes first, then the
    // state (a failed copy leaves it waiting for another receiver).
    if (auto copied = supervisor.mm().copy_out(user_struct, std::span(reinterpret_cast<const u8*>(&out), sizeof out)); !copied)
        return err(copied.error());
    r->state = State::Received;
    PollHub::the().notify();
    return 0;
}

KResult<u64> Notifier::send(Thread& supervisor, u64 user_struct)
{
    auto resp = TRY(read_struct<Resp>(supervisor, user_struct));
    if (resp.flags & ~u32 { SECCOMP_USER_NOTIF_FLAG_CONTINUE })
        return err(Errno::INVAL);
    if ((resp.flags & SECCOMP_USER_NOTIF_FLAG_CONTINUE) && (resp.error || resp.val))
        return err(Errno::INVAL);
    std::lock_guard lock(m_lock);
    auto* r = find_locked(resp.id);
    if (!r)
        return err(Errno::NOENT);
    if (r->state != State::Received)
        return err(Errno::INPROGRESS);
    r->state = State::Answered;
    r->answer.run_call = resp.flags & SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    r->answer.result = resp.error ? resp.error : resp.val;
    m_callers.wake_all();
    return 0;
}

KResult<u64> Notifier::id_valid(Thread& supervisor, u64 user_id)
{
    u64 id = TRY(read_struct<u64>(supervisor, user_id));
    std::lock_guard lock(m_lock);
    auto* r = find_locked(id);
    return r && r->state == State::Received ? KResult<u64>(0) : err(Errno::NOENT);
}

KResult<u64> Notifier::add_fd(Thread& supervisor, u64 user_struct)
{
    auto a = TRY(read_struct<AddFd>(supervisor, user_struct));
    constexpr u32 kKnown = SECCOMP_ADDFD_FLAG_SETFD | SECCOMP_ADDFD_FLAG_SEND;
    if ((a.flags & ~kKnown) || (a.newfd_flags & ~u32 { O_CLOEXEC }))
        return err(Errno::INVAL);
    if (!(a.flags & SECCOMP_ADDFD_FLAG_SETFD) && a.newfd)
        return err(Errno::INVAL);
    auto file = TRY(supervisor.fds().get(static_cast<int>(a.srcfd)));
    std::lock_guard lock(m_lock);
    auto* r = find_locked(a.id);
    if (!r)
        return err(Errno::NOENT);
    if (r->state != State::Received)
        return err(Errno::INPROGRESS);
    // The caller sleeps in notify() while its request is listed: its
    // process and fd table are there.
    Thread& target = *r->thread;
    bool cloexec = a.newfd_flags & O_CLOEXEC;
    int fd;
    if (a.flags & SECCOMP_ADDFD_FLAG_SETFD) {
        auto limit = target.process().rlimit(RLIMIT_NOFILE);
        if (a.newfd >= limit.cur)
            return err(Errno::BADF);
        TRY(target.fds().install(static_cast<int>(a.newfd), file, cloexec, limit.cur));
        fd = static_cast<int>(a.newfd);
    } else {
        fd = static_cast<int>(TRY(install_fd(target, file, cloexec)));
    }
    if (a.flags & SECCOMP_ADDFD_FLAG_SEND) {
        r->state = State::Answered;
        r->answer = Answer { false, fd };
        m_callers.wake_all();
    }
    return static_cast<u64>(fd);
}

u32 Notifier::poll_events()
{
    std::lock_guard lock(m_lock);
    u32 events = 0;
    for (auto& r : m_requests) {
        if (r.state == State::Waiting)
            events |= POLLIN | POLLRDNORM;
        if (r.state == State::Received)
            events |= POLLOUT | POLLWRNORM;
    }
    if (!m_filter_alive)
        events |= POLLHUP;
    return events;
}

void Notifier::listener_closed()
{
    std::lock_guard lock(m_lock);
    m_listening = false;
    m_callers.wake_all();
}

void Notifier::filter_gone()
{
    {
        std::lock_guard lock(m_lock);
        m_filter_alive = false;
    }
    PollHub::the().notify();
}

} // namespace umk::kernel::seccomp
