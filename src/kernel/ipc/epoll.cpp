#include "kernel/ipc/epoll.h"

#include "kernel/vfs/anon_inode.h"

#include <fcntl.h>
#include <sys/epoll.h>

#include <algorithm>

namespace umk::kernel {

namespace {

std::mutex g_lock; // every instance's items and every file's epoll_watchers

constexpr int kMaxNests = 4; // EP_MAX_NESTS

// One readiness walk's answers per instance (an instance may be reached
// on many paths through nested epolls).
thread_local std::map<const EpollInstance*, bool>* t_ready = nullptr;

class EpollFile final : public File {
public:
    explicit EpollFile(int flags)
        : File(make_ref<AnonInode>("[eventpoll]"), O_RDWR | (flags & O_NONBLOCK)), instance(*this)
    {
    }
    KResult<usize> read(std::span<u8>, u64) override { return err(Errno::INVAL); }
    KResult<usize> write(std::span<const u8>, u64) override { return err(Errno::INVAL); }
    bool seekable() const override { return false; }
    bool pollable() const override { return true; }
    u32 poll_events() override { return instance.any_ready() ? EPOLLIN | EPOLLRDNORM : 0; }

    EpollInstance instance;
};

} // namespace

void epoll_forget_file(File& file)
{
    std::lock_guard lock(g_lock);
    for (auto* watcher : std::exchange(file.epoll_watchers, {}))
        watcher->forget(&file);
}

RefPtr<File> make_epoll_file(int flags) { return RefPtr<File>(new EpollFile(flags)); }

EpollInstance* epoll_instance(File& file)
{
    auto* e = dynamic_cast<EpollFile*>(&file);
    return e ? &e->instance : nullptr;
}

EpollInstance::~EpollInstance()
{
    // All at once under the lock: no walk may find this instance through
    // another's items after it is gone (its file leaves them here, not
    // later in ~File).
    std::lock_guard lock(g_lock);
    for (auto* watcher : std::exchange(m_file.epoll_watchers, {}))
        watcher->forget(&m_file);
    for (auto& [key, item] : m_items)
        std::erase(key.first->epoll_watchers, this);
    m_items.clear();
}

void EpollInstance::forget(File* file)
{
    std::erase_if(m_items, [&](const auto& entry) { return entry.first.first == file; });
}

bool EpollInstance::reaches(const EpollInstance* other, std::map<const EpollInstance*, bool>& seen) const
{
    if (this == other)
        return true;
    if (!seen.emplace(this, false).second)
        return false; // looked at already
    for (auto& [key, item] : m_items)
        if (auto* inner = epoll_instance(*key.first); inner && inner->reaches(other, seen))
            return true;
    return false;
}

int EpollInstance::depth_below(std::map<const EpollInstance*, int>& memo) const
{
    if (auto it = memo.find(this); it != memo.end())
        return it->second;
    memo[this] = 0;
    int depth = 0;
    for (auto& [key, item] : m_items)
        if (auto* inner = epoll_instance(*key.first))
            depth = std::max(depth, 1 + inner->depth_below(memo));
    return memo[this] = depth;
}

int EpollInstance::depth_above(std::map<const EpollInstance*, int>& memo) const
{
    if (auto it = memo.find(this); it != memo.end())
        return it->second;
    memo[this] = 0;
    int depth = 0;
    for (auto* watcher : m_file.epoll_watchers)
        depth = std::max(depth, 1 + watcher->depth_above(memo));
    return memo[this] = depth;
}

KResult<void> EpollInstance::control(int op, RefPtr<File> file, int fd, const EpollEvent* event)
{
    constexpr u32 kExclusiveOk = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
    if (!file->pollable())
        return err(Errno::PERM);
    auto* inner = epoll_instance(*file);
    if (inner == this)
        return err(Errno::INVAL);
    if (event && (event->events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD || (event->events & ~kExclusiveOk) || inner)
            return err(Errno::INVAL);
    }
    std::lock_guard lock(g_lock);
    Key key { file.get(), fd };
    auto it = m_items.find(key);
    switch (op) {
    case EPOLL_CTL_ADD: {
        if (it != m_items.end())
            return err(Errno::EXIST);
        if (inner) {
            // Linux's ep_loop_check: no cycle, and no chain of epolls
            // deeper than EP_MAX_NESTS through the new link.
            std::map<const EpollInstance*, bool> seen;
            std::map<const EpollInstance*, int> below, above;
            if (inner->reaches(this, seen) || depth_above(above) + 1 + inner->depth_below(below) > kMaxNests)
                return err(Errno::LOOP);
        }
        m_items.emplace(key, Item { event->events, event->data });
        if (std::find(file->epoll_watchers.begin(), file->epoll_watchers.end(), this) == file->epoll_watchers.end())
            file->epoll_watchers.push_back(this);
        return {};
    }
    case EPOLL_CTL_MOD:
        if (it == m_items.end())
            return err(Errno::NOENT);
        if (it->second.events & EPOLLEXCLUSIVE)
            return err(Errno::INVAL);
        it->second = Item { event->events, event->data };
        return {};
    case EPOLL_CTL_DEL:
        if (it == m_items.end())
            return err(Errno::NOENT);
        m_items.erase(it);
        if (std::none_of(m_items.begin(), m_items.end(), [&](const auto& e) { return e.first.first == file.get(); }))
            std::erase(file->epoll_watchers, this);
        return {};
    }
    return err(Errno::INVAL);
}

namespace {

// The files of the enabled items, each with a reference: their
// poll_events() run without epoll's lock.
struct Candidate {
    RefPtr<File> file;
    int fd;
};

} // namespace

std::vector<EpollEvent> EpollInstance::collect(usize max, bool& from_host)
{
    from_host = false;
    std::vector<Candidate> candidates;
    {
        std::lock_guard lock(g_lock);
        for (auto& [key, item] : m_items)
            if (!item.disabled && key.first->try_ref())
                candidates.push_back({ RefPtr<File>::adopt(key.first), key.second });
    }
    struct Seen {
        u32 revents;
        u64 changes;
    };
    std::vector<Seen> seen;
    for (auto& c : candidates) {
        seen.push_back({ c.file->poll_events(), c.file->poll_changes() });
        from_host |= c.file->polled_from_host();
    }
    std::vector<EpollEvent> out;
    std::lock_guard lock(g_lock);
    for (usize i = 0; i < candidates.size() && out.size() < max; i++) {
        auto it = m_items.find({ candidates[i].file.get(), candidates[i].fd });
        if (it == m_items.end() || it->second.disabled)
            continue;
        Item& item = it->second;
        u32 revents = seen[i].revents & (item.events | EPOLLERR | EPOLLHUP);
        if (item.events & EPOLLET) {
            // An edge: a bit not reported since it last cleared, or a
            // change of the file since the last report.
            bool edge = (revents & ~item.reported) || (revents && seen[i].changes != item.changes);
            item.reported = revents;
            item.changes = seen[i].changes;
            if (!edge)
                continue;
        }
        if (!revents)
            continue;
        if (item.events & EPOLLONESHOT)
            item.disabled = true;
        out.push_back({ revents, item.data });
    }
    return out;
}

bool EpollInstance::any_ready()
{
    if (t_ready) {
        auto [it, fresh] = t_ready->emplace(this, false); // false meanwhile: no loops
        if (!fresh)
            return it->second;
        bool ready = ready_uncached();
        (*t_ready)[this] = ready;
        return ready;
    }
    std::map<const EpollInstance*, bool> walk;
    t_ready = &walk;
    walk.emplace(this, false);
    bool ready = ready_uncached();
    t_ready = nullptr;
    return ready;
}

bool EpollInstance::ready_uncached()
{
    std::vector<std::pair<RefPtr<File>, u32>> candidates;
    {
        std::lock_guard lock(g_lock);
        for (auto& [key, item] : m_items)
            if (!item.disabled && key.first->try_ref())
                candidates.push_back({ RefPtr<File>::adopt(key.first), item.events | EPOLLERR | EPOLLHUP });
    }
    for (auto& [file, wanted] : candidates)
        if (file->poll_events() & wanted)
            return true;
    return false;
}

} // namespace umk::kernel
