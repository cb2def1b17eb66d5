#pragma once

// An open file description (Linux's struct file): shared by dup'ed fds
// and across fork, holds the position and the status flags.

#include "kernel/vfs/dentry.h"

#include <functional>

namespace umk::kernel {



class EpollInstance;

class File : public RefCounted {
public:
    File(RefPtr<Inode> inode, int flags) : m_inode(std::move(inode)), m_flags(flags) {}
    ~File() override;

    // Data. `pos` is the offset for positioned files; stream files
    // ignore it. Short counts are allowed, as on Linux.
    virtual KResult<usize> read(std::span<u8> out, u64 pos);
    virtual KResult<usize> write(std::span<const u8> data, u64 pos);
    // read() on its way to guest memory: `take` copies what was read there
    // and says whether it could (false: the guest's buffer faults). A file
    // whose data is gone once read keeps it then, as Linux's pipes do, and
    // says EFAULT; others have read it all the same.
    virtual KResult<usize> read_for(std::span<u8> out, u64 pos, const std::function<bool(std::span<const u8>)>& take)
    {
        usize n = TRY(read(out, pos));
        (void)take(out.first(n));
        return n;
    }
    // Files that never look at what is written to them (/dev/null,
    // /dev/zero, /dev/full) answer a write of `count` bytes here, without
    // the data: like Linux, they do not fault on a bad buffer.
    virtual std::optional<KResult<u64>> write_unread(u64) { return std::nullopt; }
    // Regular files and block devices have positions; pipes, ttys and
    // character devices do not (lseek gives ESPIPE).
    virtual bool seekable() const { return true; }
    virtual KResult<std::vector<DirEntry>> list();
    virtual KResult<u64> ioctl(Thread&, u64 request, u64 argument);
    // A host fd the guest may map, or -1 (mmap gives ENODEV).
    virtual int host_fd() const { return -1; }
    // read() is pread(2) of host_fd() and nothing more (hostfs, tmpfs):
    // large reads may copy from a mapping of it instead.
    virtual bool reads_host_fd() const { return false; }
    virtual KResult<void> sync() { return {}; }
    // poll(2): the POLL* events that hold now. Files that are always
    // ready (regular files, most devices) keep the default.
    virtual u32 poll_events() { return 0x0001 | 0x0004 | 0x0040 | 0x0100; } // POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM
    // Whether readiness can change without PollHub hearing of it (a host
    // fd): pollers then look again every few milliseconds.
    virtual bool polled_from_host() const { return false; }
    // A count of the changes that wake pollers (for epoll's edge-triggered
    // mode: a new change is a new edge); 0 where only the readiness bits
    // tell.
    virtual u64 poll_changes() { return 0; }

    // Whether poll/epoll can wait for it (Linux's file_can_poll): not for
    // regular files and directories, nor devices without a poll method.
    virtual bool pollable() const { return false; }

    // The epoll instances watching this file: they forget it when it goes
    // (Linux's eventpoll_release at the last reference). Under epoll's
    // lock (ipc/epoll.cpp).
    std::vector<EpollInstance*> epoll_watchers;
    // It held flock or OFD locks: they go with its last reference.
    std::atomic<bool> has_locks { false };

    Inode& inode() const { return *m_inode; }
    RefPtr<Inode> inode_ref() const { return m_inode; }

    int flags() const { return m_flags.load(); }
    // O_NONBLOCK, or RWF_NOWAIT on the preadv2/pwritev2 this kernel thread
    // runs (Linux's IOCB_NOWAIT, which pipes and sockets take as it).
    bool nonblocking() const;
    // Takes RWF_NOWAIT (Linux's FMODE_NOWAIT) besides regular files.
    virtual bool takes_nowait() const { return false; }
    // For the length of one call: nonblocking() is true on every file.
    class NowaitCall {
    public:
        explicit NowaitCall(bool nowait);
        ~NowaitCall();
        NowaitCall(const NowaitCall&) = delete;
        NowaitCall& operator=(const NowaitCall&) = delete;

    private:
        bool m_was;
    };
    void set_status_flags(int flags);
    int access_mode() const;
    bool readable() const;
    bool writable() const;

    // Opened for writing: it holds its file's write access until it goes.
    void hold_write_access(WriteAccess access) { m_write_access = std::move(access); }

    // The path it was opened by, for /proc/self/fd and getdents state.
    RefPtr<Dentry> dentry() const { return m_dentry; }
    void set_dentry(RefPtr<Dentry> d) { m_dentry = std::move(d); }

    // The position, and the directory stream index for getdents.
    std::mutex& position_lock() { return m_position_lock; }
    u64 position_locked() const { return m_position; }
    void set_position_locked(u64 p) { m_position = p; }

private:
    RefPtr<Inode> m_inode;
    RefPtr<Dentry> m_dentry;
    std::optional<WriteAccess> m_write_access;
    std::atomic<int> m_flags;
    std::mutex m_position_lock;
    u64 m_position { 0 };

public:
    // getdents: the listing taken when the stream (re)started at 0.
    std::optional<std::vector<DirEntry>> dir_snapshot_locked;
};

} // namespace umk::kernel
