#pragma once

// epoll(7): an interest list of (file, fd) pairs and the events ready on
// them, level- or edge-triggered, one-shot, nested. Linux:
// fs/eventpoll.c. Readiness comes from each file's poll_events(); epoll
// sleeps on PollHub like poll(2). An item does not keep its file: when
// the file's last reference goes, the item goes (~File).
//
// Lock order: epoll's one lock (interest lists and files' watcher lists),
// never held while a file's poll_events() runs.

#include "kernel/vfs/file.h"

#include <map>

namespace umk::kernel {

class Thread;

struct EpollEvent {
    u32 events;
    u64 data;
} __attribute__((packed));
static_assert(sizeof(EpollEvent) == 12);

class EpollInstance {
public:
    explicit EpollInstance(File& file) : m_file(file) {}
    ~EpollInstance();
    // epoll_ctl(2): EPOLL_CTL_ADD, MOD, DEL of `file` (as `fd`).
    KResult<void> control(int op, RefPtr<File> file, int fd, const EpollEvent* event);
    // Up to `max` ready events, with their one-shot and edge state
    // advanced; empty when none is ready.
    // `from_host`: some item's readiness changes without PollHub hearing.
    std::vector<EpollEvent> collect(usize max, bool& from_host);
    // For nesting: whether any item is ready (poll_events of the epoll fd).
    bool any_ready();
    // ~File: `file` is gone; its items go.
    void forget(File* file);
    // Nesting (under epoll's lock): whether `other` is this instance or
    // below it; the longest chain of epolls below it, and above it.
    bool reaches(const EpollInstance* other, std::map<const EpollInstance*, bool>& seen) const;
    int depth_below(std::map<const EpollInstance*, int>& memo) const;
    int depth_above(std::map<const EpollInstance*, int>& memo) const;

private:
    struct Item {
        u32 events;      // wanted, with EPOLLET/ONESHOT/...
        u64 data;
        bool disabled { false }; // EPOLLONESHOT after its event
        u32 reported { 0 };      // edge-triggered: the bits last reported
        u64 changes { 0 };       // and the file's change count then
    };
    using Key = std::pair<File*, int>;
    bool ready_uncached();
    File& m_file; // the epoll fd's own open file
    std::map<Key, Item> m_items; // under epoll's lock
};

// ~File: the instances watching `file` forget it.
void epoll_forget_file(File& file);

// An epoll fd's open file.
RefPtr<File> make_epoll_file(int flags);
// The instance behind an open file, or null when it is no epoll fd.
EpollInstance* epoll_instance(File& file);

} // namespace umk::kernel
