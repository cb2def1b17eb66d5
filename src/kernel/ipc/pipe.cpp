#include "kernel/ipc/pipe.h"

#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/signals/signals.h"
#include "kernel/task/poll_hub.h"

#include <asm/ioctls.h>
#include <algorithm>
#include <map>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

namespace umk::kernel {

namespace {

std::atomic<u64> g_next_pipe_ino { 1 };
// pipefs's device number on Linux is an anonymous one; any fixed value
// that no other file system of ours uses will do.
constexpr u64 kPipeDev = 0xd;

// Named FIFOs' pipes by the file-system inode's (dev, ino). Opens and
// closes of named FIFOs take this lock first, so an open never finds a
// pipe whose last end is going.
std::mutex g_fifos_lock;
std::map<std::pair<u64, u64>, PipeInode*> g_fifos;

std::pair<u64, u64> fifo_key(Inode& node)
{
    auto a = node.attr();
    return a ? std::pair { a->dev, a->ino } : std::pair<u64, u64> { 0, 0 };
}

} // namespace

const int PipeInode::kPipeFs = 0;

PipeInode::PipeInode(u32 uid, u32 gid) : m_ino(g_next_pipe_ino++), m_uid(uid), m_gid(gid), m_time(now_realtime()) {}

PipeInode::PipeInode(RefPtr<Inode> node) : PipeInode(0, 0) { m_node = std::move(node); }

PipeInode::~PipeInode()
{
    if (!m_node)
        return;
    std::lock_guard lock(g_fifos_lock);
    auto it = g_fifos.find(fifo_key(*m_node));
    if (it != g_fifos.end() && it->second == this)
        g_fifos.erase(it);
}

KResult<RefPtr<File>> open_fifo(RefPtr<Inode> node, int flags)
{
    int access = flags & O_ACCMODE;
    bool reader = access == O_RDONLY || access == O_RDWR;
    bool writer = access == O_WRONLY || access == O_RDWR;
    RefPtr<PipeInode> pipe;
    RefPtr<File> file;
    {
        std::lock_guard lock(g_fifos_lock);
        auto key = fifo_key(*node);
        auto it = g_fifos.find(key);
        // An entry whose last reference is going (its destructor waits on
        // this lock) is replaced.
        if (it != g_fifos.end() && it->second->try_ref())
            pipe = RefPtr<PipeInode>::adopt(it->second);
        if (!pipe) {
            pipe = make_ref<PipeInode>(node);
            g_fifos[key] = pipe.get();
        }
        if (access == O_WRONLY && (flags & O_NONBLOCK) && !pipe->has_reader())
            return err(Errno::NXIO);
        file = RefPtr<File>(new PipeFile(RefPtr<Inode>(pipe), flags));
    }
    if (access != O_RDWR)
        TRY(pipe->wait_for_partner(reader && !writer, flags & O_NONBLOCK));
    return file;
}

bool PipeInode::has_reader()
{
    std::lock_guard lock(m_lock);
    return m_readers > 0;
}

KResult<void> PipeInode::wait_for_partner(bool reader, bool nonblock)
{
    if (nonblock)
        return {};
    Thread* t = current_thread();
    if (!t)
        return {};
    std::unique_lock lock(m_lock);
    if (reader) {
        u64 seen = m_writer_opens;
        if (m_writers == 0)
            TRY(m_waiters.wait(*t, lock, [&] { return m_writer_opens != seen; }));
    } else {
        u64 seen = m_reader_opens;
        if (m_readers == 0)
            TRY(m_waiters.wait(*t, lock, [&] { return m_reader_opens != seen; }));
    }
    return {};
}

KResult<InodeAttr> PipeInode::attr()
{
    if (m_node)
        return m_node->attr();
    InodeAttr a;
    a.dev = kPipeDev;
    a.ino = m_ino;
    a.mode = S_IFIFO | 0600;
    a.uid = m_uid;
    a.gid = m_gid;
    a.atime = a.mtime = a.ctime = m_time;
    return a;
}

KResult<RefPtr<File>> PipeInode::open(int flags) { return RefPtr<File>(new PipeFile(RefPtr<Inode>(this), flags)); }

void PipeInode::open_end(bool reader, bool writer)
{
    std::lock_guard lock(m_lock);
    m_readers += reader;
    m_writers += writer;
    m_reader_opens += reader;
    m_writer_opens += writer;
    changed();
}

void PipeInode::close_end(bool reader, bool writer)
{
    std::lock_guard lock(m_lock);
    m_readers -= reader;
    m_writers -= writer;
    changed();
}

KResult<bool> PipeInode::wait_readable_locked(std::unique_lock<std::mutex>& lock, bool nonblock)
{
    if (!m_buffer.empty())
        return true;
    if (m_writers == 0)
        return false;
    Thread* t = current_thread();
    if (nonblock || !t)
        return err(Errno::AGAIN);
    TRY(m_waiters.wait(*t, lock, [&] { return !m_buffer.empty() || m_writers == 0; }));
    return !m_buffer.empty();
}

KResult<usize> PipeInode::read(std::span<u8> out, bool nonblock)
{
    return read_for(out, nonblock, [](std::span<const u8>) { return true; });
}

KResult<usize> PipeInode::read_for(std::span<u8> out, bool nonblock, const std::function<bool(std::span<const u8>)>& take)
{
    if (out.empty())
        return 0;
    std::unique_lock lock(m_lock);
    if (!TRY(wait_readable_locked(lock, nonblock)))
        return 0;
    usize n = m_buffer.peek(out);
    if (!take(out.first(n)))
        return err(Errno::FAULT); // Linux's pipe_read: the bytes stay
    m_buffer.pop(out.first(n));
    changed();
    return n;
}

KResult<usize> PipeInode::write(std::span<const u8> data, bool nonblock)
{
    Thread* t = current_thread();
    auto broken = [&]() -> KResult<usize> {
        if (t)
            t->process().send_signal(make_siginfo(kSigPipe, kSiUser, t->process().pid(), t->process().creds().uid),
                                     t->tid());
        return err(Errno::PIPE);
    };
    std::unique_lock lock(m_lock);
    if (m_readers == 0)
        return broken();
    if (data.empty())
        return 0;
    usize done = 0;
    while (done < data.size()) {
        usize left = data.size() - done;
        // Up to PIPE_BUF bytes go in at once or not at all.
        usize need = left <= kPipeBuf ? left : 1;
        auto room = [&] { return m_buffer.room(); };
        if (room() < need) {
            if (nonblock || !t) {
                if (done > 0)
                    return done;
                return err(Errno::AGAIN);
            }
            auto waited = m_waiters.wait(*t, lock, [&] { return room() >= need || m_readers == 0; });
            if (!waited) {
                if (done > 0)
                    return done;
                return err(waited.error());
            }
            if (m_readers == 0)
                return done > 0 ? KResult<usize>(done) : broken();
        }
        done += m_buffer.push(data.subspan(done));
        changed();
    }
    return done;
}

KResult<usize> PipeInode::tee_into(PipeInode& out, usize len, bool nonblock)
{
    Thread* t = current_thread();
    for (;;) {
        // ipipe_prep: data here, or EOF (0) with no writer.
        {
            std::unique_lock lock(m_lock);
            if (!TRY(wait_readable_locked(lock, nonblock)))
                return 0;
        }
        // opipe_prep: a reader there (else SIGPIPE), and room.
        {
            std::unique_lock lock(out.m_lock);
            if (out.m_readers == 0) {
                if (t)
                    t->process().send_signal(make_siginfo(kSigPipe, kSiUser, t->process().pid(), t->process().creds().uid),
                                             t->tid());
                return err(Errno::PIPE);
            }
            if (out.m_buffer.room() == 0) {
                if (nonblock || !t)
                    return err(Errno::AGAIN);
                TRY(out.m_waiters.wait(*t, lock, [&] { return out.m_buffer.room() > 0 || out.m_readers == 0; }));
                continue; // look again at both
            }
        }
        // Both locks, in address order; what is here and fits there.
        PipeInode* first = this < &out ? this : &out;
        PipeInode* second = this < &out ? &out : this;
        std::scoped_lock both(first->m_lock, second->m_lock);
        usize n = std::min({ len, m_buffer.size(), out.m_buffer.room() });
        if (n == 0)
            continue; // raced with another reader or writer
        std::vector<u8> bytes(n);
        m_buffer.peek(bytes);
        out.m_buffer.push(bytes);
        out.changed();
        return n;
    }
}

void PipeInode::changed()
{
    m_changes++;
    m_waiters.wake_all();
    PollHub::the().notify();
}

u32 PipeInode::poll_events(bool reader, bool writer)
{
    std::lock_guard lock(m_lock);
    u32 events = 0;
    if (reader) {
        if (!m_buffer.empty())
            events |= POLLIN | POLLRDNORM;
        if (m_writers == 0)
            events |= POLLHUP;
    }
    if (writer) {
        if (m_buffer.room() >= kPipeBuf)
            events |= POLLOUT | POLLWRNORM;
        if (m_readers == 0)
            events |= POLLERR;
    }
    return events;
}

usize PipeInode::bytes_available()
{
    std::lock_guard lock(m_lock);
    return m_buffer.size();
}

usize PipeInode::capacity()
{
    std::lock_guard lock(m_lock);
    return m_buffer.capacity();
}

KResult<usize> PipeInode::set_capacity(usize size)
{
    if (size > kPipeMaxSize)
        return err(Errno::PERM);
    // Linux rounds up to a power-of-two number of pages.
    usize pages = 1;
    while (pages * 4096 < size)
        pages *= 2;
    std::lock_guard lock(m_lock);
    if (pages * 4096 < m_buffer.size())
        return err(Errno::BUSY);
    m_buffer.set_capacity(pages * 4096);
    changed();
    return m_buffer.capacity();
}

PipeFile::PipeFile(RefPtr<Inode> inode, int flags, bool from_pipe2) : File(std::move(inode), flags), m_from_pipe2(from_pipe2)
{
    pipe().open_end(readable(), writable());
}

PipeFile::~PipeFile() { pipe().close_end(readable(), writable()); }

KResult<usize> PipeFile::read(std::span<u8> out, u64) { return pipe().read(out, nonblocking()); }

KResult<usize> PipeFile::read_for(std::span<u8> out, u64, const std::function<bool(std::span<const u8>)>& take)
{
    return pipe().read_for(out, nonblocking(), take);
}

KResult<usize> PipeFile::write(std::span<const u8> data, u64) { return pipe().write(data, nonblocking()); }

KResult<u64> PipeFile::ioctl(Thread& t, u64 request, u64 argument)
{
    if (request == FIONREAD) {
        int n = static_cast<int>(pipe().bytes_available());
        TRY(t.mm().copy_out(argument, std::span(reinterpret_cast<const u8*>(&n), sizeof n)));
        return 0;
    }
    return err(Errno::NOTTY);
}

std::pair<RefPtr<File>, RefPtr<File>> make_pipe(u32 uid, u32 gid, int status_flags)
{
    auto inode = make_ref<PipeInode>(uid, gid);
    RefPtr<File> reader(new PipeFile(inode, O_RDONLY | status_flags, true));
    RefPtr<File> writer(new PipeFile(inode, O_WRONLY | status_flags, true));
    return { reader, writer };
}

} // namespace umk::kernel
