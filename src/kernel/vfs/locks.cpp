#include "kernel/vfs/locks.h"

#include "kernel/kernel.h"
#include "kernel/task/wait_queue.h"

#include <fcntl.h>
#include <map>

#include <algorithm>
#include <sys/file.h>

namespace umk::kernel {

namespace {

enum class Kind { Flock, Posix, Ofd };

struct Lock {
    Kind kind;
    const void* owner; // the File (flock, OFD) or the fd table (POSIX)
    short type;
    u64 start, end;
    int pid;
};

struct InodeLocks {
    std::vector<Lock> locks;
    WaitQueue waiters;
    int waiting { 0 }; // threads asleep in `waiters`: the entry stays while any are
};

// The inode the guest sees (the overlay's, which a copy-up does not
// change), by identity: it lives as long as a file that could hold a lock
// on it (an open file keeps its dentry and that inode).
using Key = const Inode*;
std::mutex g_lock;
std::map<Key, InodeLocks> g_inodes;  // under g_lock
std::atomic<u64> g_record_locks { 0 }; // POSIX locks anywhere: closes look only then

KResult<Key> key_of(File& file) { return file.dentry() ? &file.dentry()->inode() : &file.inode(); }

// An entry with no locks and nobody waiting goes. Under g_lock.
void prune_locked(Key key)
{
    auto it = g_inodes.find(key);
    if (it != g_inodes.end() && it->second.locks.empty() && it->second.waiting == 0)
        g_inodes.erase(it);
}

bool overlap(const Lock& a, const Lock& b) { return a.start <= b.end && b.start <= a.end; }

// Linux's locks_conflict: flock and record locks never meet; an owner
// never blocks itself; two read locks share.
bool conflicts(const Lock& held, const Lock& wanted)
{
    if ((held.kind == Kind::Flock) != (wanted.kind == Kind::Flock))
        return false;
    if (held.owner == wanted.owner)
        return false;
    if (!overlap(held, wanted))
        return false;
    return held.type == F_WRLCK || wanted.type == F_WRLCK;
}

const Lock* first_conflict(const InodeLocks& inode, const Lock& wanted)
{
    for (auto& l : inode.locks)
        if (conflicts(l, wanted))
            return &l;
    return nullptr;
}

// Who waits for whom, for F_SETLKW's deadlock check (POSIX owners only,
// as Linux's posix_locks_deadlock). Under g_lock.
std::map<const void*, const void*> g_waits_for;

bool would_deadlock(const void* owner, const void* blocker)
{
    for (int depth = 0; blocker && depth < 10; depth++) {
        if (blocker == owner)
            return true;
        auto it = g_waits_for.find(blocker);
        blocker = it == g_waits_for.end() ? nullptr : it->second;
    }
    return false;
}

// Sets `wanted` (or unlocks its range) for its owner: the owner's own
// locks in the range are replaced, split or merged (Linux's
// posix_lock_inode; flock locks are one whole-file range).
void apply_locked(InodeLocks& inode, const Lock& wanted)
{
    std::vector<Lock> kept;
    Lock merged = wanted;
    for (auto& l : inode.locks) {
        if (l.owner != wanted.owner || l.kind != wanted.kind) {
            kept.push_back(l);
            continue;
        }
        bool adjacent = (wanted.end != kLockEnd && l.start == wanted.end + 1) || (wanted.start > 0 && l.end == wanted.start - 1);
        if (l.type == wanted.type && wanted.type != F_UNLCK && (overlap(l, wanted) || adjacent)) {
            merged.start = std::min(merged.start, l.start);
            merged.end = std::max(merged.end, l.end);
            continue;
        }
        if (!overlap(l, wanted)) {
            kept.push_back(l);
            continue;
        }
        if (l.start < wanted.start) {
            Lock left = l;
            left.end = wanted.start - 1;
            kept.push_back(left);
        }
        if (l.end > wanted.end) {
            Lock right = l;
            right.start = wanted.end + 1;
            kept.push_back(right);
        }
    }
    if (wanted.type != F_UNLCK)
        kept.push_back(merged);
    auto count = [](const std::vector<Lock>& v) {
        return static_cast<u64>(std::count_if(v.begin(), v.end(), [](const Lock& l) { return l.kind == Kind::Posix; }));
    };
    g_record_locks += count(kept) - count(inode.locks);
    inode.locks = std::move(kept);
    inode.waiters.wake_all();
}

KResult<void> set_lock(Thread& t, File& file, const Lock& wanted, bool wait)
{
    auto key = TRY(key_of(file));
    std::unique_lock lock(g_lock);
    auto& inode = g_inodes[key];
    if (wanted.type != F_UNLCK) {
        while (const Lock* blocker = first_conflict(inode, wanted)) {
            if (!wait)
                return err(Errno::AGAIN);
            if (wanted.kind == Kind::Posix && blocker->kind == Kind::Posix && would_deadlock(wanted.owner, blocker->owner))
                return err(Errno::DEADLK);
            if (wanted.kind == Kind::Posix)
                g_waits_for[wanted.owner] = blocker->owner;
            inode.waiting++;
            auto waited = inode.waiters.wait(t, lock, [&] { return !first_conflict(inode, wanted); });
            inode.waiting--;
            g_waits_for.erase(wanted.owner);
            if (!waited) {
                prune_locked(key);
                return err(waited.error());
            }
        }
    }
    apply_locked(inode, wanted);
    prune_locked(key);
    if (wanted.kind != Kind::Posix)
        file.has_locks = true;
    return {};
}

} // namespace

KResult<void> flock_file(Thread& t, File& file, int operation)
{
    constexpr int kLockMand = 32;
    if (operation & kLockMand) {
        // Linux ignores these (Samba's share modes) and says 0.
        t.kernel().log_once("flock LOCK_MAND", "flock: LOCK_MAND is ignored, as by Linux");
        return {};
    }
    int type;
    switch (operation & ~LOCK_NB) {
    case LOCK_SH:
        type = F_RDLCK;
        break;
    case LOCK_EX:
        type = F_WRLCK;
        break;
    case LOCK_UN:
        type = F_UNLCK;
        break;
    default:
        return err(Errno::INVAL);
    }
    // A conversion is not atomic (Linux drops the old lock first).
    if (type != F_UNLCK)
        TRY(set_lock(t, file, Lock { Kind::Flock, &file, F_UNLCK, 0, kLockEnd, 0 }, false));
    return set_lock(t, file, Lock { Kind::Flock, &file, static_cast<short>(type), 0, kLockEnd, 0 }, !(operation & LOCK_NB));
}

KResult<void> set_record_lock(Thread& t, File& file, const void* owner, bool ofd, const RecordLock& r, bool wait)
{
    Lock l { ofd ? Kind::Ofd : Kind::Posix, owner, r.type, r.start, r.end, ofd ? -1 : r.pid };
    return set_lock(t, file, l, wait);
}

KResult<std::optional<RecordLock>> get_record_lock(File& file, const void* owner, const RecordLock& r)
{
    auto key = TRY(key_of(file));
    Lock wanted { Kind::Posix, owner, r.type, r.start, r.end, 0 };
    std::lock_guard lock(g_lock);
    auto it = g_inodes.find(key);
    if (it == g_inodes.end())
        return std::optional<RecordLock>();
    const Lock* c = first_conflict(it->second, wanted);
    if (!c)
        return std::optional<RecordLock>();
    return std::optional<RecordLock>(RecordLock { c->type, c->start, c->end, c->pid });
}

namespace {

// Every lock of `owner` of these kinds on `file`'s inode goes.
void unlock_all(File& file, const void* owner, std::initializer_list<Kind> kinds)
{
    auto key = key_of(file);
    if (!key)
        return;
    std::lock_guard lock(g_lock);
    auto it = g_inodes.find(*key);
    if (it == g_inodes.end())
        return;
    for (Kind kind : kinds)
        apply_locked(it->second, Lock { kind, owner, F_UNLCK, 0, kLockEnd, 0 });
    prune_locked(*key);
}

} // namespace

void release_posix_locks(const void* fd_table, File& file)
{
    if (g_record_locks.load() > 0)
        unlock_all(file, fd_table, { Kind::Posix });
}

void release_file_locks(File& file) { unlock_all(file, &file, { Kind::Flock, Kind::Ofd }); }

} // namespace umk::kernel
