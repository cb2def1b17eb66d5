#include "kernel/ipc/timerfd.h"

#include "kernel/kernel.h"
#include "kernel/task/poll_hub.h"
#include "kernel/vfs/anon_inode.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/timerfd.h>

#include <cstring>
#include <limits>

namespace umk::kernel {

namespace {

using std::chrono::nanoseconds;
using Steady = std::chrono::steady_clock;

nanoseconds clock_now(int clock)
{
    timespec ts {};
    clock_gettime(clock, &ts);
    return std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
}

// Saturated at the largest time, as Linux's timespec64_to_ktime.
nanoseconds to_ns(const abi::Timespec& ts)
{
    constexpr i64 kMaxSeconds = std::numeric_limits<i64>::max() / 1000000000;
    if (ts.tv_sec >= kMaxSeconds)
        return nanoseconds(std::numeric_limits<i64>::max());
    return std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
}
abi::Timespec to_timespec(nanoseconds ns)
{
    return { static_cast<i64>(ns.count() / 1000000000), static_cast<i64>(ns.count() % 1000000000) };
}

// A timer's state; the TimerService callback that wakes its readers at
// the next expiration holds it too.
struct TimerState {
    std::mutex lock;
    int clock;
    nanoseconds next { 0 };     // on `clock`; 0: disarmed
    nanoseconds interval { 0 };
    u64 expirations { 0 };      // not read yet
    u64 service_id { 0 };       // the pending wake-up
    std::atomic<u64> changes { 0 };

    // Counts the expirations up to now (Linux's timerfd_tmrproc and
    // hrtimer_forward). Under `lock`.
    void catch_up()
    {
        if (next.count() == 0)
            return;
        nanoseconds now = clock_now(clock);
        if (now < next)
            return;
        if (interval.count() == 0) {
            expirations++;
            next = nanoseconds(0);
        } else {
            u64 n = static_cast<u64>((now - next) / interval) + 1;
            expirations += n;
            i64 step;
            if (__builtin_mul_overflow(interval.count(), static_cast<i64>(n), &step)
                || __builtin_add_overflow(next.count(), step, &step))
                next = nanoseconds(std::numeric_limits<i64>::max()); // ktime_add_safe
            else
                next = nanoseconds(step);
        }
        changes++;
    }
};

void schedule(Kernel& kernel, const std::shared_ptr<TimerState>& state);

// At an expiration: pollers and readers look again. The next wake-up
// comes once the expirations are read (or a poller finds none pending),
// as Linux's timerfd re-arms in read: an unread periodic timer costs
// nothing.
void expired(std::weak_ptr<TimerState> weak)
{
    auto state = weak.lock();
    if (!state)
        return;
    {
        std::lock_guard lock(state->lock);
        state->service_id = 0;
        state->catch_up();
    }
    PollHub::the().notify();
}

void schedule(Kernel& kernel, const std::shared_ptr<TimerState>& state)
{
    std::lock_guard lock(state->lock);
    if (state->service_id)
        kernel.timers().cancel(std::exchange(state->service_id, 0));
    if (state->next.count() == 0)
        return;
    nanoseconds left = std::max(state->next - clock_now(state->clock), nanoseconds(0));
    if (left > std::chrono::years(100))
        return; // past this process's lifetime (and steady_clock's range)
    std::weak_ptr<TimerState> weak = state;
    state->service_id = kernel.timers().add(Steady::now() + left, [weak] { expired(weak); });
}

class TimerFile final : public File {
public:
    TimerFile(Kernel& kernel, int clock, int flags)
        : File(make_ref<AnonInode>("[timerfd]"), O_RDWR | (flags & O_NONBLOCK)), m_kernel(kernel),
          m_state(std::make_shared<TimerState>())
    {
        m_state->clock = clock;
    }
    ~TimerFile() override
    {
        std::lock_guard lock(m_state->lock);
        if (m_state->service_id)
            m_kernel.timers().cancel(m_state->service_id);
    }

    KResult<usize> read(std::span<u8> out, u64) override
    {
        if (out.size() < 8)
            return err(Errno::INVAL);
        bool rearm = false;
        for (;;) {
            u64 seen = PollHub::the().generation();
            {
                std::lock_guard lock(m_state->lock);
                m_state->catch_up();
                if (u64 n = std::exchange(m_state->expirations, 0)) {
                    std::memcpy(out.data(), &n, 8);
                    rearm = true;
                }
            }
            if (rearm) {
                schedule(m_kernel, m_state);
                return 8;
            }
            Thread* t = current_thread();
            if ((flags() & O_NONBLOCK) || !t)
                return err(Errno::AGAIN);
            TRY(PollHub::the().wait_or_signal(*t, seen, std::nullopt, Errno::RESTARTSYS));
        }
    }
    KResult<usize> write(std::span<const u8>, u64) override { return err(Errno::INVAL); }
    bool seekable() const override { return false; }
    bool pollable() const override { return true; }
    u64 poll_changes() override { return m_state->changes.load(); }
    u32 poll_events() override
    {
        bool idle;
        {
            std::lock_guard lock(m_state->lock);
            m_state->catch_up();
            if (m_state->expirations)
                return POLLIN | POLLRDNORM;
            idle = m_state->next.count() && !m_state->service_id;
        }
        if (idle) // a poller waits: wake it at the next expiration
            schedule(m_kernel, m_state);
        return 0;
    }

    KResult<TimerfdSpec> settime(int flags, const TimerfdSpec& spec)
    {
        auto old = gettime();
        {
            std::lock_guard lock(m_state->lock);
            m_state->expirations = 0;
            m_state->interval = to_ns(spec.interval);
            nanoseconds value = to_ns(spec.value);
            if (value.count() == 0)
                m_state->next = nanoseconds(0);
            else if (flags & TFD_TIMER_ABSTIME)
                m_state->next = std::max(value, nanoseconds(1));
            else if (i64 at; __builtin_add_overflow(clock_now(m_state->clock).count(), value.count(), &at))
                m_state->next = nanoseconds(std::numeric_limits<i64>::max());
            else
                m_state->next = nanoseconds(at);
            m_state->changes++;
        }
        schedule(m_kernel, m_state);
        PollHub::the().notify();
        return old;
    }

    TimerfdSpec gettime()
    {
        std::lock_guard lock(m_state->lock);
        m_state->catch_up();
        TimerfdSpec s {};
        s.interval = to_timespec(m_state->interval);
        if (m_state->next.count())
            s.value = to_timespec(std::max(m_state->next - clock_now(m_state->clock), nanoseconds(0)));
        return s;
    }

private:
    Kernel& m_kernel;
    std::shared_ptr<TimerState> m_state;
};

std::atomic<int> g_signalfds { 0 };

// struct signalfd_siginfo
struct SignalfdSiginfo {
    u32 signo;
    i32 errno_;
    i32 code;
    u32 pid, uid;
    i32 fd;
    u32 tid, band, overrun, trapno;
    i32 status, int_;
    u64 ptr, utime, stime, addr;
    u16 addr_lsb, pad2;
    i32 syscall;
    u64 call_addr;
    u32 arch;
    u8 pad[28];
};
static_assert(sizeof(SignalfdSiginfo) == 128);

// Linux's signalfd_copyinfo: the fields of the siginfo's layout.
SignalfdSiginfo to_signalfd_info(const abi::Siginfo& info)
{
    SignalfdSiginfo s {};
    s.signo = static_cast<u32>(info.si_signo);
    s.errno_ = info.si_errno;
    s.code = info.si_code;
    int signo = info.si_signo, code = info.si_code;
    bool fault = code > 0 && code < 0x80
        && (signo == kSigSegv || signo == kSigBus || signo == kSigIll || signo == kSigFpe || signo == kSigTrap);
    if (code == -2) { // SI_TIMER
        s.tid = static_cast<u32>(info.timer.tid);
        s.overrun = static_cast<u32>(info.timer.overrun);
        s.ptr = info.timer.value;
        s.int_ = static_cast<i32>(info.timer.value);
    } else if (fault) {
        s.addr = info.fault.addr;
    } else if (signo == kSigChld && code > 0 && code < 0x80) {
        s.pid = static_cast<u32>(info.chld.pid);
        s.uid = info.chld.uid;
        s.status = info.chld.status;
        s.utime = static_cast<u64>(info.chld.utime);
        s.stime = static_cast<u64>(info.chld.stime);
    } else if (signo == kSigSys && code == 1) { // SYS_SECCOMP
        s.call_addr = info.sys.call_addr;
        s.syscall = info.sys.syscall;
        s.arch = info.sys.arch;
    } else {
        s.pid = static_cast<u32>(info.kill.pid);
        s.uid = info.kill.uid;
        s.ptr = info.kill.value;
        s.int_ = static_cast<i32>(info.kill.value);
    }
    return s;
}

class SignalFile final : public File {
public:
    SignalFile(u64 signals, int flags) : File(make_ref<AnonInode>("[signalfd]"), O_RDWR | (flags & O_NONBLOCK)), mask(signals)
    {
        g_signalfds++;
    }
    ~SignalFile() override { g_signalfds--; }

    // The reader's own signals (Linux: current's), not the creator's.
    KResult<usize> read(std::span<u8> out, u64) override
    {
        if (out.size() < sizeof(SignalfdSiginfo))
            return err(Errno::INVAL);
        Thread* t = current_thread();
        if (!t)
            return err(Errno::AGAIN);
        usize done = 0;
        for (;;) {
            u64 seen = PollHub::the().generation();
            while (done + sizeof(SignalfdSiginfo) <= out.size()) {
                std::optional<abi::Siginfo> taken;
                {
                    std::lock_guard lock(t->process().signal_lock());
                    taken = t->pending_locked().take(mask);
                    if (!taken)
                        taken = t->process().shared_pending_locked().take(mask);
                }
                if (!taken)
                    break;
                if (taken->si_code == -2)
                    t->process().timers.dequeued(*taken);
                auto info = to_signalfd_info(*taken);
                std::memcpy(out.data() + done, &info, sizeof info);
                done += sizeof info;
            }
            if (done > 0)
                return done;
            if (flags() & O_NONBLOCK)
                return err(Errno::AGAIN);
            TRY(PollHub::the().wait_or_signal(*t, seen, std::nullopt, Errno::RESTARTSYS));
        }
    }
    KResult<usize> write(std::span<const u8>, u64) override { return err(Errno::INVAL); }
    bool seekable() const override { return false; }
    bool pollable() const override { return true; }
    u32 poll_events() override
    {
        Thread* t = current_thread();
        if (!t)
            return 0;
        std::lock_guard lock(t->process().signal_lock());
        u64 pending = t->pending_locked().pending() | t->process().shared_pending_locked().pending();
        return (pending & mask) ? POLLIN | POLLRDNORM : 0;
    }

    std::atomic<u64> mask;
};

} // namespace

RefPtr<File> make_timerfd(Kernel& kernel, int clock, int flags) { return RefPtr<File>(new TimerFile(kernel, clock, flags)); }

KResult<TimerfdSpec> timerfd_settime(File& file, int flags, const TimerfdSpec& spec)
{
    auto* timer = dynamic_cast<TimerFile*>(&file);
    if (!timer)
        return err(Errno::INVAL);
    return timer->settime(flags, spec);
}

KResult<TimerfdSpec> timerfd_gettime(File& file)
{
    auto* timer = dynamic_cast<TimerFile*>(&file);
    if (!timer)
        return err(Errno::INVAL);
    return timer->gettime();
}

RefPtr<File> make_signalfd(u64 mask, int flags) { return RefPtr<File>(new SignalFile(mask, flags)); }

KResult<void> signalfd_set_mask(File& file, u64 mask)
{
    auto* signals = dynamic_cast<SignalFile*>(&file);
    if (!signals)
        return err(Errno::INVAL);
    signals->mask = mask;
    PollHub::the().notify();
    return {};
}

bool signalfds_exist() { return g_signalfds.load() > 0; }

} // namespace umk::kernel
