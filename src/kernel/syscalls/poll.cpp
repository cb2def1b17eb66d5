// poll(2), ppoll(2), select(2), pselect6(2), epoll(7). Linux:
// fs/select.c, fs/eventpoll.c.
#include "kernel/syscalls/handlers.h"

#include "kernel/ipc/epoll.h"
#include "kernel/task/poll_hub.h"

#include <climits>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>

namespace umk::kernel {

namespace {

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;

// How often pollers of host-backed files look again.
constexpr auto kHostPollSlice = std::chrono::milliseconds(10);

struct PollEntry {
    int fd;
    u32 events; // wanted (POLLERR/POLLHUP are always reported)
    u32 revents { 0 };
};

// One pass over the entries; the number with events.
int scan(Thread& t, std::vector<PollEntry>& entries, bool& from_host)
{
    int ready = 0;
    from_host = false;
    for (auto& e : entries) {
        e.revents = 0;
        if (e.fd < 0)
            continue;
        auto file = t.fds().get(e.fd);
        if (!file) {
            e.revents = POLLNVAL;
        } else {
            from_host |= (*file)->polled_from_host();
            e.revents = (*file)->poll_events() & (e.events | POLLERR | POLLHUP);
        }
        ready += e.revents != 0;
    }
    return ready;
}

// Sleeps after a scan that found nothing (PollHub at `seen`): false once
// the deadline has passed; `on_signal` for a signal to deliver. Files
// polled from the host are looked at again every kHostPollSlice.
KResult<bool> wait_after_scan(Thread& t, u64 seen, Deadline deadline, bool from_host, Errno on_signal)
{
    if (deadline && Clock::now() >= *deadline)
        return false;
    Deadline until = deadline;
    if (from_host && (!until || *until > Clock::now() + kHostPollSlice))
        until = Clock::now() + kHostPollSlice;
    TRY(PollHub::the().wait_or_signal(t, seen, until, on_signal));
    return true; // the caller looks again (and at the deadline)
}

// Scans until something is ready, the deadline, or a signal
// (ERESTARTNOHAND: restarted only when no handler ran).
KResult<int> do_poll(Thread& t, std::vector<PollEntry>& entries, Deadline deadline)
{
    for (;;) {
        u64 seen = PollHub::the().generation();
        bool from_host;
        int ready = scan(t, entries, from_host);
        if (ready)
            return ready;
        if (!TRY(wait_after_scan(t, seen, deadline, from_host, Errno::RESTARTNOHAND)))
            return 0;
    }
}

KResult<Deadline> deadline_from_timespec(Thread& t, GuestAddr ts)
{
    if (ts.null())
        return Deadline {};
    auto v = TRY(copy_in<abi::Timespec>(t, ts.value));
    if (v.tv_sec < 0 || v.tv_nsec < 0 || v.tv_nsec >= 1000000000)
        return err(Errno::INVAL);
    return Deadline { Clock::now() + std::chrono::seconds(std::min<i64>(v.tv_sec, 1LL << 32)) + std::chrono::nanoseconds(v.tv_nsec) };
}

// ppoll/pselect6: the mask in force during the wait. Restored on return,
// or after the handler of the signal that ended the wait.
KResult<void> set_wait_mask(Thread& t, GuestAddr mask, u64 size)
{
    if (mask.null())
        return {};
    if (size != 8)
        return err(Errno::INVAL);
    t.set_temporary_mask(TRY(copy_in<u64>(t, mask.value)));
    return {};
}

void end_wait_mask(Thread& t, bool interrupted)
{
    std::lock_guard lock(t.process().signal_lock());
    if (t.saved_mask && !interrupted) {
        t.signal_mask = *t.saved_mask;
        t.saved_mask.reset();
    }
}

KResult<u64> poll_common(Thread& t, GuestAddr ufds, u64 nfds, Deadline deadline)
{
    if (nfds > t.process().rlimit(RLIMIT_NOFILE).cur || nfds > (1U << 20))
        return err(Errno::INVAL);
    std::vector<pollfd> raw(nfds);
    TRY(t.mm().copy_in(ufds.value, std::span(reinterpret_cast<u8*>(raw.data()), nfds * sizeof(pollfd))));
    std::vector<PollEntry> entries;
    for (auto& p : raw)
        entries.push_back({ p.fd, static_cast<u16>(p.events) });
    int ready = TRY(do_poll(t, entries, deadline));
    for (usize i = 0; i < nfds; i++)
        raw[i].revents = static_cast<short>(entries[i].revents);
    TRY(t.mm().copy_out(ufds.value, std::span(reinterpret_cast<const u8*>(raw.data()), nfds * sizeof(pollfd))));
    return static_cast<u64>(ready);
}

constexpr u32 kSelectIn = POLLIN | POLLRDNORM | POLLHUP | POLLERR;
constexpr u32 kSelectOut = POLLOUT | POLLWRNORM | POLLERR;
constexpr u32 kSelectEx = POLLPRI;

KResult<u64> select_common(Thread& t, int nfds, GuestAddr in, GuestAddr out, GuestAddr ex, Deadline deadline)
{
    if (nfds < 0)
        return err(Errno::INVAL);
    // Linux bounds nfds by the fd table's size; ours never exceeds
    // fs.nr_open (2^20), whatever RLIMIT_NOFILE says.
    u64 limit = std::min<u64>(std::max<u64>(t.process().rlimit(RLIMIT_NOFILE).cur, 1024), 1 << 20);
    if (static_cast<u64>(nfds) > limit)
        nfds = static_cast<int>(limit);
    usize words = (static_cast<usize>(nfds) + 63) / 64;
    std::vector<u64> sets[3];
    GuestAddr addrs[3] = { in, out, ex };
    for (int i = 0; i < 3; i++) {
        sets[i].assign(words, 0);
        if (!addrs[i].null() && words)
            TRY(t.mm().copy_in(addrs[i].value, std::span(reinterpret_cast<u8*>(sets[i].data()), words * 8)));
    }
    auto has = [&](int set, int fd) { return (sets[set][fd / 64] >> (fd % 64)) & 1; };
    std::vector<PollEntry> entries;
    for (int fd = 0; fd < nfds; fd++) {
        u32 want = (has(0, fd) ? kSelectIn : 0) | (has(1, fd) ? kSelectOut : 0) | (has(2, fd) ? kSelectEx : 0);
        if (!want)
            continue;
        if (!t.fds().get(fd))
            return err(Errno::BADF);
        entries.push_back({ fd, want });
    }
    TRY(do_poll(t, entries, deadline));
    for (auto& s : sets)
        std::fill(s.begin(), s.end(), 0);
    int count = 0;
    for (auto& e : entries) {
        u32 got[3] = { e.events & kSelectIn & e.revents, e.events & kSelectOut & e.revents,
                       e.events & kSelectEx & e.revents };
        for (int i = 0; i < 3; i++) {
            if (got[i]) {
                sets[i][e.fd / 64] |= 1ULL << (e.fd % 64);
                count++;
            }
        }
    }
    for (int i = 0; i < 3; i++)
        if (!addrs[i].null() && words)
            TRY(t.mm().copy_out(addrs[i].value, std::span(reinterpret_cast<const u8*>(sets[i].data()), words * 8)));
    return static_cast<u64>(count);
}

// select and pselect6 write back the time left (Linux does, unlike POSIX).
template <class T>
void write_back_left(Thread& t, GuestAddr addr, Deadline deadline)
{
    if (addr.null() || !deadline)
        return;
    auto left = std::max(Clock::duration::zero(), *deadline - Clock::now());
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
    auto rest = std::chrono::duration_cast<std::chrono::nanoseconds>(left - secs).count();
    T value {};
    value.tv_sec = secs.count();
    if constexpr (std::is_same_v<T, abi::Timeval>)
        value.tv_usec = rest / 1000;
    else
        value.tv_nsec = rest;
    (void)copy_out(t, addr.value, value);
}

} // namespace

KResult<u64> sys_poll(Thread& t, GuestAddr ufds, u64 nfds, int timeout_ms)
{
    Deadline deadline;
    if (timeout_ms >= 0)
        deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    return poll_common(t, ufds, nfds, deadline);
}

KResult<u64> sys_ppoll(Thread& t, GuestAddr ufds, u64 nfds, GuestAddr tsp, GuestAddr sigmask, u64 sigsetsize)
{
    auto deadline = TRY(deadline_from_timespec(t, tsp));
    TRY(set_wait_mask(t, sigmask, sigsetsize));
    auto r = poll_common(t, ufds, nfds, deadline);
    end_wait_mask(t, !r && r.error() == Errno::RESTARTNOHAND);
    write_back_left<abi::Timespec>(t, tsp, deadline);
    return r;
}

KResult<u64> sys_select(Thread& t, int nfds, GuestAddr in, GuestAddr out, GuestAddr ex, GuestAddr tvp)
{
    Deadline deadline;
    if (!tvp.null()) {
        auto tv = TRY(copy_in<abi::Timeval>(t, tvp.value));
        if (tv.tv_sec < 0 || tv.tv_usec < 0)
            return err(Errno::INVAL);
        // Linux normalizes tv_usec >= 1000000 instead of failing.
        deadline = Clock::now() + std::chrono::seconds(std::min<i64>(tv.tv_sec, 1LL << 32))
            + std::chrono::microseconds(tv.tv_usec);
    }
    auto r = select_common(t, nfds, in, out, ex, deadline);
    write_back_left<abi::Timeval>(t, tvp, deadline);
    return r;
}

KResult<u64> sys_pselect6(Thread& t, int nfds, GuestAddr in, GuestAddr out, GuestAddr ex, GuestAddr tsp, GuestAddr sig)
{
    auto deadline = TRY(deadline_from_timespec(t, tsp));
    // The sixth argument: { const sigset_t* ss; size_t ss_len; }.
    GuestAddr mask;
    u64 mask_size = 0;
    if (!sig.null()) {
        struct {
            u64 ss;
            u64 len;
        } arg = TRY(copy_in<decltype(arg)>(t, sig.value));
        mask = GuestAddr { arg.ss };
        mask_size = arg.len;
    }
    TRY(set_wait_mask(t, mask, mask_size));
    auto r = select_common(t, nfds, in, out, ex, deadline);
    end_wait_mask(t, !r && r.error() == Errno::RESTARTNOHAND);
    write_back_left<abi::Timespec>(t, tsp, deadline);
    return r;
}

// ---- epoll ----

KResult<u64> sys_epoll_create1(Thread& t, int flags)
{
    if (flags & ~EPOLL_CLOEXEC)
        return err(Errno::INVAL);
    return install_fd(t, make_epoll_file(0), flags & EPOLL_CLOEXEC);
}

KResult<u64> sys_epoll_create(Thread& t, int size)
{
    if (size <= 0)
        return err(Errno::INVAL);
    return sys_epoll_create1(t, 0);
}

KResult<u64> sys_epoll_ctl(Thread& t, int epfd, int op, int fd, GuestAddr event)
{
    auto epoll_file = TRY(get_file(t, epfd));
    auto file = TRY(get_file(t, fd));
    auto* instance = epoll_instance(*epoll_file);
    if (!instance)
        return err(Errno::INVAL);
    std::optional<EpollEvent> ev;
    if (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD)
        ev = TRY(copy_in<EpollEvent>(t, event.value));
    TRY(instance->control(op, file, fd, ev ? &*ev : nullptr));
    return 0;
}

namespace {

// Waits for ready events (EINTR on a signal, never restarted).
KResult<u64> epoll_wait_common(Thread& t, int epfd, GuestAddr events, int maxevents, Deadline deadline)
{
    if (maxevents <= 0 || maxevents > INT_MAX / static_cast<int>(sizeof(EpollEvent)))
        return err(Errno::INVAL);
    auto file = TRY(get_file(t, epfd));
    auto* instance = epoll_instance(*file);
    if (!instance)
        return err(Errno::INVAL);
    for (;;) {
        u64 seen = PollHub::the().generation();
        bool from_host;
        auto ready = instance->collect(static_cast<usize>(maxevents), from_host);
        if (!ready.empty()) {
            TRY(t.mm().copy_out(events.value, std::span(reinterpret_cast<const u8*>(ready.data()), ready.size() * sizeof(EpollEvent))));
            return ready.size();
        }
        if (!TRY(wait_after_scan(t, seen, deadline, from_host, Errno::INTR)))
            return 0;
    }
}

Deadline deadline_from_ms(int timeout)
{
    if (timeout < 0)
        return Deadline {};
    return Deadline { Clock::now() + std::chrono::milliseconds(timeout) };
}

KResult<u64> epoll_pwait_common(Thread& t, int epfd, GuestAddr events, int maxevents, Deadline deadline,
                                GuestAddr sigmask, u64 sigsetsize)
{
    TRY(set_wait_mask(t, sigmask, sigsetsize));
    auto r = epoll_wait_common(t, epfd, events, maxevents, deadline);
    end_wait_mask(t, !r && r.error() == Errno::INTR);
    return r;
}

} // namespace

KResult<u64> sys_epoll_wait(Thread& t, int epfd, GuestAddr events, int maxevents, int timeout)
{
    return epoll_wait_common(t, epfd, events, maxevents, deadline_from_ms(timeout));
}

KResult<u64> sys_epoll_pwait(Thread& t, int epfd, GuestAddr events, int maxevents, int timeout, GuestAddr sigmask,
                             u64 sigsetsize)
{
    return epoll_pwait_common(t, epfd, events, maxevents, deadline_from_ms(timeout), sigmask, sigsetsize);
}

KResult<u64> sys_epoll_pwait2(Thread& t, int epfd, GuestAddr events, int maxevents, GuestAddr timeout,
                              GuestAddr sigmask, u64 sigsetsize)
{
    auto deadline = TRY(deadline_from_timespec(t, timeout));
    return epoll_pwait_common(t, epfd, events, maxevents, deadline, sigmask, sigsetsize);
}

} // namespace umk::kernel
