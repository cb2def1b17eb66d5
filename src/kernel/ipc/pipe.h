#pragma once

// Pipes (pipe(2), pipe2(2)). Linux: fs/pipe.c. A 64 KiB buffer by
// default; writes of at most PIPE_BUF bytes are atomic; a reader sees
// EOF once every write end is closed; a writer with no reader left gets
// EPIPE and SIGPIPE.

#include "kernel/task/wait_queue.h"
#include "kernel/vfs/file.h"
#include "lib/byte_ring.h"

namespace umk::kernel {

inline constexpr usize kPipeBuf = 4096;           // PIPE_BUF
inline constexpr usize kPipeDefaultSize = 65536;  // 16 pages
inline constexpr usize kPipeMaxSize = 1048576;    // /proc/sys/fs/pipe-max-size

class PipeInode final : public Inode {
public:
    PipeInode(u32 uid, u32 gid);
    // A named FIFO's pipe: `node` is its inode in the file system.
    explicit PipeInode(RefPtr<Inode> node);
    ~PipeInode() override;
    KResult<InodeAttr> attr() override;
    KResult<RefPtr<File>> open(int flags) override;
    const void* fs_id() const override { return &kPipeFs; }
    u64 ino() const { return m_ino; }

    KResult<usize> read(std::span<u8> out, bool nonblock);
    // The same for guest memory: the bytes leave the pipe only once `take`
    // has them (File::read_for).
    KResult<usize> read_for(std::span<u8> out, bool nonblock, const std::function<bool(std::span<const u8>)>& take);
    KResult<usize> write(std::span<const u8> data, bool nonblock);
    // tee(2): up to `len` bytes of this pipe copied into `out`, left here.
    // Waits for data here and room there unless `nonblock`.
    KResult<usize> tee_into(PipeInode& out, usize len, bool nonblock);
    usize bytes_available();
    u64 changes() const { return m_changes.load(); }
    u32 poll_events(bool reader, bool writer);
    // F_GETPIPE_SZ / F_SETPIPE_SZ.
    usize capacity();
    KResult<usize> set_capacity(usize size);
    // A read or write end came or went.
    void open_end(bool reader, bool writer);
    void close_end(bool reader, bool writer);
    // A FIFO's open (Linux's fifo_open): a reader waits for a writer, a
    // writer for a reader, unless O_NONBLOCK (or O_RDWR).
    KResult<void> wait_for_partner(bool reader, bool nonblock);
    bool has_reader();

private:
    // Under m_lock: wakes readers, writers and pollers.
    void changed();
    // Under m_lock: data to read (true) or EOF, no writer left (false);
    // EAGAIN when `nonblock`, else waits for either.
    KResult<bool> wait_readable_locked(std::unique_lock<std::mutex>& lock, bool nonblock);
    static const int kPipeFs;
    std::mutex m_lock;
    WaitQueue m_waiters; // readers and writers alike
    ByteRing m_buffer { kPipeDefaultSize };
    std::atomic<u64> m_changes { 0 };
    int m_readers { 0 }, m_writers { 0 };
    u64 m_reader_opens { 0 }, m_writer_opens { 0 }; // Linux's r_counter, w_counter
    RefPtr<Inode> m_node; // a named FIFO's file-system inode
    u64 m_ino;
    u32 m_uid, m_gid;
    Timespec m_time;
};

class PipeFile final : public File {
public:
    // `from_pipe2`: an end pipe(2) made, not a FIFO or a reopened end.
    PipeFile(RefPtr<Inode> inode, int flags, bool from_pipe2 = false);
    ~PipeFile() override;
    KResult<usize> read(std::span<u8> out, u64 pos) override;
    KResult<usize> read_for(std::span<u8> out, u64 pos, const std::function<bool(std::span<const u8>)>& take) override;
    KResult<usize> write(std::span<const u8> data, u64 pos) override;
    bool seekable() const override { return false; }
    // Only pipe(2)'s ends, as Linux's create_pipe_files sets FMODE_NOWAIT.
    bool takes_nowait() const override { return m_from_pipe2; }
    KResult<u64> ioctl(Thread&, u64 request, u64 argument) override;
    u32 poll_events() override { return pipe().poll_events(readable(), writable()); }
    bool pollable() const override { return true; }
    u64 poll_changes() override { return pipe().changes(); }

    PipeInode& pipe() { return static_cast<PipeInode&>(inode()); }

private:
    bool m_from_pipe2;
};

// open(2) of a FIFO in a file system (`node`, S_IFIFO): one pipe per
// FIFO while anyone has it open; buffered data goes with the last close.
KResult<RefPtr<File>> open_fifo(RefPtr<Inode> node, int flags);

// Two open files on a new pipe: the read end, then the write end.
std::pair<RefPtr<File>, RefPtr<File>> make_pipe(u32 uid, u32 gid, int status_flags);

} // namespace umk::kernel
