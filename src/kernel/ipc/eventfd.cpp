#include "kernel/ipc/eventfd.h"

#include "kernel/task/poll_hub.h"
#include "kernel/vfs/anon_inode.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <cstring>

namespace umk::kernel {

namespace {

constexpr u64 kMax = ~u64 { 0 } - 1; // ULLONG_MAX - 1

class EventfdFile final : public File {
public:
    EventfdFile(u64 initial, int flags)
        : File(make_ref<AnonInode>("[eventfd]"), O_RDWR | (flags & O_NONBLOCK)), m_count(initial), m_semaphore(flags & EFD_SEMAPHORE)
    {
    }

    KResult<usize> read(std::span<u8> out, u64) override
    {
        if (out.size() < 8)
            return err(Errno::INVAL);
        std::unique_lock lock(m_lock);
        if (m_count == 0) {
            Thread* t = current_thread();
            if ((flags() & O_NONBLOCK) || !t)
                return err(Errno::AGAIN);
            TRY(m_waiters.wait(*t, lock, [&] { return m_count > 0; }));
        }
        u64 value = m_semaphore ? 1 : m_count;
        m_count -= value;
        std::memcpy(out.data(), &value, 8);
        changed();
        return 8;
    }

    KResult<usize> write(std::span<const u8> data, u64) override
    {
        if (data.size() < 8)
            return err(Errno::INVAL);
        u64 value;
        std::memcpy(&value, data.data(), 8);
        if (value == ~u64 { 0 })
            return err(Errno::INVAL);
        std::unique_lock lock(m_lock);
        if (kMax - m_count < value) {
            Thread* t = current_thread();
            if ((flags() & O_NONBLOCK) || !t)
                return err(Errno::AGAIN);
            TRY(m_waiters.wait(*t, lock, [&] { return kMax - m_count >= value; }));
        }
        m_count += value;
        if (value)
            changed();
        return 8;
    }

    bool seekable() const override { return false; }
    bool pollable() const override { return true; }
    u64 poll_changes() override { return m_changes.load(); }
    u32 poll_events() override
    {
        std::lock_guard lock(m_lock);
        u32 events = 0;
        if (m_count > 0)
            events |= POLLIN | POLLRDNORM;
        if (m_count < kMax)
            events |= POLLOUT | POLLWRNORM;
        return events;
    }

private:
    void changed()
    {
        m_changes++;
        m_waiters.wake_all();
        PollHub::the().notify();
    }

    std::mutex m_lock;
    WaitQueue m_waiters;
    u64 m_count;
    bool m_semaphore;
    std::atomic<u64> m_changes { 0 };
};

} // namespace

RefPtr<File> make_eventfd(u64 initial, int flags) { return RefPtr<File>(new EventfdFile(initial, flags)); }

} // namespace umk::kernel
