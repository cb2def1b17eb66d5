#include "kernel/vfs/notify.h"

#include "kernel/task/poll_hub.h"
#include "kernel/task/wait_queue.h"
#include "kernel/vfs/anon_inode.h"

#include <fcntl.h>
#include <map>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cstring>
#include <deque>

namespace umk::kernel {

namespace {

using Key = std::pair<u64, u64>; // the inode's dev and ino

constexpr usize kMaxQueued = 16384; // /proc/sys/fs/inotify/max_queued_events

class InotifyFile;

std::mutex g_lock;                               // the registry and every instance's watches
std::map<Key, std::vector<InotifyFile*>> g_watchers; // under g_lock
std::atomic<u64> g_watches { 0 };
std::atomic<u32> g_cookie { 0 };

struct Event {
    i32 wd;
    u32 mask, cookie;
    std::string name;
    bool operator==(const Event&) const = default;
};

class InotifyFile final : public File {
public:
    explicit InotifyFile(int flags) : File(make_ref<AnonInode>("inotify"), O_RDONLY | (flags & O_NONBLOCK)) {}
    ~InotifyFile() override
    {
        std::lock_guard lock(g_lock);
        for (auto& [wd, watch] : m_watches)
            forget_locked(watch.key);
    }

    KResult<usize> read(std::span<u8> out, u64) override;
    KResult<usize> write(std::span<const u8>, u64) override { return err(Errno::INVAL); }
    bool seekable() const override { return false; }
    bool pollable() const override { return true; }
    u64 poll_changes() override { return m_changes.load(); }
    u32 poll_events() override
    {
        std::lock_guard lock(m_queue_lock);
        return m_queue.empty() ? 0 : POLLIN | POLLRDNORM;
    }
    KResult<u64> ioctl(Thread& t, u64 request, u64 argument) override;

    KResult<int> add(Key key, u32 mask);
    KResult<void> remove(int wd);
    // Under g_lock: the inode of `key` is gone; its watches end (IN_IGNORED).
    void drop_locked(Key key)
    {
        for (auto it = m_watches.begin(); it != m_watches.end();) {
            if (it->second.key != key) {
                ++it;
                continue;
            }
            queue(Event { it->first, IN_IGNORED, 0, {} });
            forget_locked(key);
            it = m_watches.erase(it);
        }
    }
    // Under g_lock: an event for the watch on `key`, if it wants it.
    void deliver_locked(Key key, u32 mask, u32 cookie, std::string_view name);

private:
    struct Watch {
        Key key;
        u32 mask;
    };
    void forget_locked(Key key)
    {
        auto& list = g_watchers[key];
        std::erase(list, this);
        if (list.empty())
            g_watchers.erase(key);
        g_watches--;
    }
    void queue(Event e);
    static usize size_of(const Event& e)
    {
        // Linux pads the name to a multiple of the header's size.
        return sizeof(inotify_event) + (e.name.empty() ? 0 : (e.name.size() + 1 + 15) / 16 * 16);
    }

    std::map<int, Watch> m_watches; // under g_lock
    int m_next_wd { 1 };
    std::mutex m_queue_lock; // after g_lock
    std::deque<Event> m_queue;
    WaitQueue m_readers;
    std::atomic<u64> m_changes { 0 };
};

void InotifyFile::queue(Event e)
{
    {
        std::lock_guard lock(m_queue_lock);
        if (!m_queue.empty() && m_queue.back() == e)
            return; // Linux merges an event equal to the last one
        if (m_queue.size() >= kMaxQueued) {
            Event overflow { -1, IN_Q_OVERFLOW, 0, {} };
            if (m_queue.back() == overflow)
                return;
            e = overflow;
        }
        m_queue.push_back(std::move(e));
        m_changes++;
        m_readers.wake_all();
    }
    PollHub::the().notify();
}

void InotifyFile::deliver_locked(Key key, u32 mask, u32 cookie, std::string_view name)
{
    for (auto it = m_watches.begin(); it != m_watches.end(); ++it) {
        auto& [wd, watch] = *it;
        if (watch.key != key || !(watch.mask & mask & (IN_ALL_EVENTS | IN_IGNORED)))
            continue;
        queue(Event { wd, mask, cookie, std::string(name) });
        if (watch.mask & IN_ONESHOT) {
            queue(Event { wd, IN_IGNORED, 0, {} });
            forget_locked(watch.key);
            m_watches.erase(it);
        }
        return;
    }
}

KResult<int> InotifyFile::add(Key key, u32 mask)
{
    std::lock_guard lock(g_lock);
    for (auto& [wd, watch] : m_watches) {
        if (watch.key != key)
            continue;
        if (mask & IN_MASK_CREATE)
            return err(Errno::EXIST);
        watch.mask = (mask & IN_MASK_ADD) ? watch.mask | mask : mask;
        return wd;
    }
    int wd = m_next_wd++;
    m_watches[wd] = Watch { key, mask };
    g_watchers[key].push_back(this);
    g_watches++;
    return wd;
}

KResult<void> InotifyFile::remove(int wd)
{
    std::lock_guard lock(g_lock);
    auto it = m_watches.find(wd);
    if (it == m_watches.end())
        return err(Errno::INVAL);
    forget_locked(it->second.key);
    m_watches.erase(it);
    queue(Event { wd, IN_IGNORED, 0, {} });
    return {};
}

KResult<usize> InotifyFile::read(std::span<u8> out, u64)
{
    std::unique_lock lock(m_queue_lock);
    if (m_queue.empty()) {
        Thread* t = current_thread();
        if ((flags() & O_NONBLOCK) || !t)
            return err(Errno::AGAIN);
        TRY(m_readers.wait(*t, lock, [&] { return !m_queue.empty(); }));
    }
    usize done = 0;
    while (!m_queue.empty() && done + size_of(m_queue.front()) <= out.size()) {
        Event& e = m_queue.front();
        inotify_event h {};
        h.wd = e.wd;
        h.mask = e.mask;
        h.cookie = e.cookie;
        h.len = static_cast<u32>(size_of(e) - sizeof h);
        std::memcpy(out.data() + done, &h, sizeof h);
        std::memset(out.data() + done + sizeof h, 0, h.len);
        std::memcpy(out.data() + done + sizeof h, e.name.data(), e.name.size());
        done += size_of(e);
        m_queue.pop_front();
    }
    if (done == 0)
        return err(Errno::INVAL); // the buffer cannot hold the next event
    return done;
}

KResult<u64> InotifyFile::ioctl(Thread& t, u64 request, u64 argument)
{
    if (request != FIONREAD)
        return err(Errno::INVAL);
    u32 bytes = 0;
    {
        std::lock_guard lock(m_queue_lock);
        for (auto& e : m_queue)
            bytes += static_cast<u32>(size_of(e));
    }
    TRY(t.mm().copy_out(argument, std::span(reinterpret_cast<const u8*>(&bytes), sizeof bytes)));
    return 0;
}

std::optional<Key> key_of(Inode& inode)
{
    auto a = inode.attr();
    if (!a)
        return std::nullopt;
    return Key { a->dev, a->ino };
}

} // namespace

bool fsnotify_active() { return g_watches.load() > 0; }

u32 fsnotify_cookie() { return ++g_cookie; }

void fsnotify(Inode& inode, Dentry* parent, std::string_view name, u32 mask, u32 cookie)
{
    if (!fsnotify_active())
        return;
    auto key = key_of(inode);
    if (!key)
        return;
    if (inode.is_dir())
        mask |= IN_ISDIR;
    std::optional<Key> parent_key = parent ? key_of(parent->inode()) : std::nullopt;
    std::lock_guard lock(g_lock);
    // The directory's watches first, then the inode's (Linux's order).
    // Copies: a one-shot watch leaves the lists while they are walked.
    constexpr u32 kSelf = IN_DELETE_SELF | IN_MOVE_SELF;
    if (parent_key && !(mask & kSelf))
        if (auto it = g_watchers.find(*parent_key); it != g_watchers.end())
            for (auto* watcher : std::vector(it->second))
                watcher->deliver_locked(*parent_key, mask, cookie, name);
    if (auto it = g_watchers.find(*key); it != g_watchers.end())
        for (auto* watcher : std::vector(it->second))
            watcher->deliver_locked(*key, mask, cookie, {});
    if (mask & IN_DELETE_SELF)
        if (auto it = g_watchers.find(*key); it != g_watchers.end())
            for (auto* watcher : std::vector(it->second))
                watcher->drop_locked(*key);
}

void fsnotify_dentry(Dentry& dentry, u32 mask)
{
    if (!fsnotify_active())
        return;
    fsnotify(dentry.inode(), dentry.parent().get(), dentry.name(), mask);
}

void fsnotify_dir(Dentry& dir, std::string_view name, u32 mask, u32 cookie)
{
    if (!fsnotify_active())
        return;
    auto key = key_of(dir.inode());
    if (!key)
        return;
    std::lock_guard lock(g_lock);
    if (auto it = g_watchers.find(*key); it != g_watchers.end())
        for (auto* watcher : std::vector(it->second))
            watcher->deliver_locked(*key, mask, cookie, name);
}

RefPtr<File> make_inotify(int flags) { return RefPtr<File>(new InotifyFile(flags)); }

KResult<int> inotify_add_watch(File& file, Inode& inode, u32 mask)
{
    auto* inotify = dynamic_cast<InotifyFile*>(&file);
    if (!inotify)
        return err(Errno::INVAL);
    auto key = key_of(inode);
    if (!key)
        return err(Errno::NOENT);
    return inotify->add(*key, mask);
}

KResult<void> inotify_rm_watch(File& file, int wd)
{
    auto* inotify = dynamic_cast<InotifyFile*>(&file);
    if (!inotify)
        return err(Errno::INVAL);
    return inotify->remove(wd);
}

} // namespace umk::kernel
