// read(2), write(2) and friends. Linux: fs/read_write.c.
#include "kernel/syscalls/handlers.h"

#include "host/files.h"

#include "kernel/vfs/notify.h"

#include "kernel/ipc/pipe.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <limits>
#include <memory>

namespace umk::kernel {

namespace {

constexpr usize kChunk = 1 << 20;
constexpr u64 kIovMax = 1024; // UIO_MAXIOV

// The bytes on their way between a file and guest memory: one buffer per
// task thread, kept (a fresh 1 MiB allocation is a host mmap and 256 page
// faults on every call).
std::span<u8> transfer_buffer(u64 count)
{
    thread_local std::unique_ptr<u8[]> buffer(new u8[kChunk]);
    return std::span(buffer.get(), static_cast<usize>(std::min<u64>(count, kChunk)));
}

// Linux's access_ok(): the whole range below the highest user address
// (x86-64 TASK_SIZE_MAX), checked before the file is asked: /dev/null too
// refuses a kernel pointer.
bool access_ok(u64 addr, u64 size)
{
    constexpr u64 kTaskSizeMax = (1ULL << 47) - 4096;
    return size <= kTaskSizeMax && addr <= kTaskSizeMax - size;
}

// How many of `size` bytes at guest address `addr` a copy gets through
// before a fault, a page at a time: copy(offset, length) for each piece.
template <class Copy>
usize copied_before_fault(u64 addr, usize size, Copy copy)
{
    usize done = 0;
    while (done < size) {
        usize n = std::min<usize>(size - done, kPageSize - ((addr + done) & (kPageSize - 1)));
        if (!copy(done, n))
            break;
        done += n;
    }
    return done;
}

// How much of `out` the guest's memory at `addr` fills before a fault.
usize readable_prefix(Thread& t, u64 addr, std::span<u8> out)
{
    return copied_before_fault(addr, out.size(), [&](usize at, usize n) {
        return static_cast<bool>(t.mm().copy_in(addr + at, out.subspan(at, n)));
    });
}

// How much of `data` goes to the guest's memory at `addr` before a fault.
usize writable_prefix(Thread& t, u64 addr, std::span<const u8> data)
{
    return copied_before_fault(addr, data.size(), [&](usize at, usize n) {
        return static_cast<bool>(t.mm().copy_out(addr + at, data.subspan(at, n)));
    });
}

KResult<void> check_readable(File& f)
{
    if (!f.readable())
        return err(Errno::BADF);
    auto a = TRY(f.inode().attr());
    if (S_ISDIR(a.mode))
        return err(Errno::ISDIR);
    return {};
}

KResult<void> check_writable(File& f)
{
    if (!f.writable())
        return err(Errno::BADF);
    return {};
}

// Reads at least this much from a host file are copied to the guest from
// a mapping of the file's pages: one copy instead of two (host read into
// the kernel, then into the guest).
constexpr u64 kMappedReadMin = 256 * 1024;

// The part of [pos, pos + count) before the end of `f` (reads_host_fd)
// copied to the guest from a read-only mapping of it, a chunk at a time;
// the bytes copied. It stops early (the caller reads the rest) where the
// file shrank meanwhile or the guest's buffer faults.
u64 read_mapped(Thread& t, File& f, GuestAddr buf, u64 count, u64 pos)
{
    // Files without holes only: a hole read through a shared mapping of a
    // tmpfs file would get pages (pread gives zeros without). (SEEK_HOLE
    // would tell where, but walks the page cache to the hole: a read of a
    // large file would cost in proportion to what follows it.)
    auto st = host::stat_fd(f.host_fd());
    if (!st || pos >= static_cast<u64>(st->size) || static_cast<u64>(st->blocks) * 512 < page_round_up(st->size))
        return 0;
    count = std::min(count, static_cast<u64>(st->size) - pos);
    u64 done = 0;
    while (done < count) {
        u64 at = pos + done;
        u64 start = at & ~(kPageSize - 1);
        usize want = static_cast<usize>(std::min<u64>(count - done, kChunk));
        usize length = static_cast<usize>(at - start) + want;
        void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, f.host_fd(), static_cast<off_t>(start));
        if (map == MAP_FAILED)
            break;
        auto copied = t.mm().copy_out(buf.value + done, std::span(static_cast<const u8*>(map) + (at - start), want));
        ::munmap(map, length);
        if (!copied)
            break;
        done += want;
    }
    return done;
}

// Reads up to `count` bytes at `pos` into guest memory. Stream files get
// one host read (what is available); positioned files are filled in
// chunks until EOF or `count`.
KResult<u64> read_into(Thread& t, File& f, GuestAddr buf, u64 count, u64 pos)
{
    if (!access_ok(buf.value, count))
        return err(Errno::FAULT);
    count = std::min(count, kMaxRwCount);
    auto chunk = transfer_buffer(count);
    u64 done = count >= kMappedReadMin && f.reads_host_fd() ? read_mapped(t, f, buf, count, pos) : 0;
    while (done < count) {
        usize want = static_cast<usize>(std::min<u64>(count - done, chunk.size()));
        bool faulted = false;
        auto n = f.read_for(std::span(chunk.data(), want), pos + done, [&](std::span<const u8> got) {
            faulted = !t.mm().copy_out(buf.value + done, got);
            return !faulted;
        });
        if (!n) {
            if (done > 0)
                break;
            return err(n.error());
        }
        if (*n == 0)
            break;
        if (faulted) {
            // A file with positions reads as far as the buffer takes (a
            // short read; the position moves by that much); from a stream
            // other than a pipe what was read is gone.
            done += f.seekable() ? writable_prefix(t, buf.value + done, std::span(chunk.data(), *n)) : 0;
            if (done > 0)
                break;
            return err(Errno::FAULT);
        }
        done += *n;
        if (!f.seekable() || *n < want)
            break;
    }
    if (done > 0 && f.dentry())
        fsnotify_dentry(*f.dentry(), IN_ACCESS);
    return done;
}

KResult<u64> write_from(Thread& t, File& f, GuestAddr buf, u64 count, u64 pos)
{
    if (!access_ok(buf.value, count))
        return err(Errno::FAULT);
    count = std::min(count, kMaxRwCount);
    if (auto r = f.write_unread(count))
        return *r;
    auto chunk = transfer_buffer(count);
    u64 done = 0;
    bool faulted = false;
    while (done < count && !faulted) {
        usize want = static_cast<usize>(std::min<u64>(count - done, chunk.size()));
        if (auto r = t.mm().copy_in(buf.value + done, std::span(chunk.data(), want)); !r) {
            // A file whose data is a host file's (hostfs, tmpfs: its page
            // cache, Linux's generic_perform_write) gets what could be read
            // before the fault; other files (procfs, devices, pipes) get
            // nothing more.
            auto a = f.inode().attr();
            usize readable = a && S_ISREG(a->mode) && f.reads_host_fd()
                ? readable_prefix(t, buf.value + done, chunk.subspan(0, want))
                : 0;
            if (readable == 0) {
                if (done > 0)
                    break;
                return err(r.error());
            }
            want = readable;
            faulted = true;
        }
        auto n = f.write(std::span(chunk.data(), want), pos + done);
        if (!n) {
            if (done > 0)
                break;
            return err(n.error());
        }
        done += *n;
        if (*n < want)
            break;
    }
    if (done > 0 && f.dentry())
        fsnotify_dentry(*f.dentry(), IN_MODIFY);
    return done;
}

// O_APPEND writes to one inode, through any open file of it, are one at a
// time from finding the end to writing there (Linux holds the inode lock).
std::mutex& append_lock(const Inode& inode)
{
    static std::mutex locks[64];
    return locks[(reinterpret_cast<uintptr_t>(&inode) >> 6) % 64];
}

template <class Op>
KResult<u64> at_file_position(File& f, bool append, Op op)
{
    if (!f.seekable())
        return op(0);
    std::lock_guard lock(f.position_lock());
    std::unique_lock<std::mutex> appending;
    if (append)
        appending = std::unique_lock(append_lock(f.inode()));
    u64 pos = f.position_locked();
    if (append)
        pos = static_cast<u64>(TRY(f.inode().attr()).size);
    u64 n = TRY(op(pos));
    f.set_position_locked(pos + n);
    return n;
}

// A positioned write (pwrite, pwritev) at `pos`, or at the end when
// appending (O_APPEND, RWF_APPEND): Linux appends whatever the offset
// (pwrite(2), BUGS), and leaves the file's position alone.
template <class Op>
KResult<u64> at_offset_or_end(File& f, u64 pos, bool append, Op op)
{
    if (!append)
        return op(pos);
    std::lock_guard lock(append_lock(f.inode()));
    return op(static_cast<u64>(TRY(f.inode().attr()).size));
}

KResult<std::vector<abi::Iovec>> copy_iovecs(Thread& t, GuestAddr iov, u64 count)
{
    if (count > kIovMax)
        return err(Errno::INVAL);
    std::vector<abi::Iovec> v(count);
    TRY(t.mm().copy_in(iov.value, std::span(reinterpret_cast<u8*>(v.data()), count * sizeof(abi::Iovec))));
    for (auto& e : v)
        if (static_cast<i64>(e.len) < 0)
            return err(Errno::INVAL);
    // Linux's import_iovec: the lengths are cut so that they add up to
    // MAX_RW_COUNT at most; a lone segment is cut before access_ok
    // (import_ubuf), others after.
    if (v.size() == 1) {
        v[0].len = std::min<u64>(v[0].len, kMaxRwCount);
        if (!access_ok(v[0].base, v[0].len))
            return err(Errno::FAULT);
        return v;
    }
    u64 total = 0;
    for (auto& e : v) {
        if (!access_ok(e.base, e.len))
            return err(Errno::FAULT);
        e.len = std::min<u64>(e.len, kMaxRwCount - total);
        total += e.len;
    }
    return v;
}

template <class One>
KResult<u64> vectored(const std::vector<abi::Iovec>& iovs, u64 pos, One one)
{
    u64 done = 0;
    for (auto& iov : iovs) {
        if (iov.len == 0)
            continue;
        auto n = one(GuestAddr { iov.base }, iov.len, pos + done);
        if (!n) {
            if (done > 0)
                break;
            return err(n.error());
        }
        done += *n;
        if (*n < iov.len)
            break;
    }
    return done;
}

u64 total_length(const std::vector<abi::Iovec>& iovs)
{
    u64 total = 0;
    for (auto& iov : iovs)
        total += iov.len;
    return total;
}

// readv/writev of a file without positions (a pipe, a socket, a tty): one
// read or write of all the segments, as Linux's (a datagram is one
// message, a pipe write of PIPE_BUF bytes or less is atomic), when they
// fit the transfer buffer; larger ones a segment at a time. Their total
// when it is one transfer.
std::optional<u64> one_transfer(const File& f, const std::vector<abi::Iovec>& iovs)
{
    u64 total = total_length(iovs);
    if (f.seekable() || total > kChunk || iovs.size() < 2)
        return std::nullopt;
    return total;
}

std::optional<KResult<u64>> scattered_read(Thread& t, File& f, const std::vector<abi::Iovec>& iovs)
{
    auto total = one_transfer(f, iovs);
    if (!total)
        return std::nullopt;
    auto chunk = transfer_buffer(*total);
    usize at = 0;
    auto n = f.read_for(chunk, 0, [&](std::span<const u8> got) {
        for (auto& iov : iovs) {
            usize m = static_cast<usize>(std::min<u64>(iov.len, got.size() - at));
            if (m == 0)
                break;
            if (!t.mm().copy_out(iov.base, got.subspan(at, m)))
                return false;
            at += m;
        }
        return true;
    });
    if (!n)
        return err(n.error()); // a pipe kept what did not fit
    if (at == 0 && *n > 0)
        return err(Errno::FAULT); // the first segment faulted
    if (at > 0 && f.dentry())
        fsnotify_dentry(*f.dentry(), IN_ACCESS);
    return at;
}

std::optional<KResult<u64>> gathered_write(Thread& t, File& f, const std::vector<abi::Iovec>& iovs)
{
    auto total = one_transfer(f, iovs);
    if (!total)
        return std::nullopt;
    if (auto r = f.write_unread(*total))
        return *r;
    auto chunk = transfer_buffer(*total);
    usize at = 0;
    for (auto& iov : iovs) {
        if (auto r = t.mm().copy_in(iov.base, chunk.subspan(at, static_cast<usize>(iov.len))); !r)
            return err(r.error()); // Linux copies the whole message first
        at += static_cast<usize>(iov.len);
    }
    auto n = f.write(chunk.first(at), 0);
    if (!n)
        return err(n.error());
    if (*n > 0 && f.dentry())
        fsnotify_dentry(*f.dentry(), IN_MODIFY);
    return *n;
}

// The file of a call at the file position (`pos` nullopt) or at `pos`
// (pread, pwritev, ...).
KResult<RefPtr<File>> file_for(Thread& t, int fd, std::optional<i64> pos, bool for_write)
{
    if (pos && *pos < 0)
        return err(Errno::INVAL);
    auto file = TRY(get_file(t, fd));
    TRY(for_write ? check_writable(*file) : check_readable(*file));
    if (pos && !file->seekable())
        return err(Errno::SPIPE);
    return file;
}

// readv, preadv, preadv2: at `pos`, or at the file position (moving it).
KResult<u64> read_vectored(Thread& t, File& file, const std::vector<abi::Iovec>& iovs, std::optional<i64> pos)
{
    auto one = [&](GuestAddr b, u64 n, u64 p) { return read_into(t, file, b, n, p); };
    if (pos)
        return vectored(iovs, static_cast<u64>(*pos), one);
    if (auto whole = scattered_read(t, file, iovs))
        return *whole;
    return at_file_position(file, false, [&](u64 at) { return vectored(iovs, at, one); });
}

// writev, pwritev, pwritev2: the same for writes, at the end when
// appending.
KResult<u64> write_vectored(Thread& t, File& file, const std::vector<abi::Iovec>& iovs, std::optional<i64> pos,
                            bool append)
{
    auto one = [&](GuestAddr b, u64 n, u64 p) { return write_from(t, file, b, n, p); };
    if (pos)
        return at_offset_or_end(file, static_cast<u64>(*pos), append, [&](u64 at) { return vectored(iovs, at, one); });
    if (auto whole = gathered_write(t, file, iovs))
        return *whole;
    return at_file_position(file, append, [&](u64 at) { return vectored(iovs, at, one); });
}

// preadv2/pwritev2's RWF_* flags, as Linux's kiocb_set_rw_flags takes
// them.
constexpr u32 kRwfHipri = 0x01, kRwfDsync = 0x02, kRwfSync = 0x04, kRwfNowait = 0x08, kRwfAppend = 0x10,
              kRwfNoappend = 0x20, kRwfAtomic = 0x40, kRwfDontcache = 0x80;
constexpr u32 kRwfKnown = kRwfHipri | kRwfDsync | kRwfSync | kRwfNowait | kRwfAppend | kRwfNoappend | kRwfAtomic
    | kRwfDontcache;

KResult<void> check_rw_flags(File& f, u32 flags)
{
    if (flags & ~kRwfKnown)
        return err(Errno::OPNOTSUPP);
    if ((flags & kRwfAppend) && (flags & kRwfNoappend))
        return err(Errno::INVAL);
    // RWF_NOWAIT: pipes and sockets do not wait (File::NowaitCall); a
    // regular file's data never waits for a device here. Other files
    // refuse it, as Linux's without FMODE_NOWAIT do.
    if ((flags & kRwfNowait) && !f.takes_nowait() && !S_ISREG(TRY(f.inode().attr()).mode))
        return err(Errno::OPNOTSUPP);
    // RWF_ATOMIC needs O_DIRECT on a device that promises atomic writes,
    // RWF_DONTCACHE a file system that drops the pages: neither here.
    if (flags & (kRwfAtomic | kRwfDontcache))
        return err(Errno::OPNOTSUPP);
    return {};
}

// preadv2 and pwritev2 take -1 for the file position; pos_h is for 32-bit
// ABIs (Linux's pos_from_hilo shifts it out on 64-bit).
std::optional<i64> v2_position(i64 pos) { return pos == -1 ? std::nullopt : std::optional(pos); }

// Their common start: the file and the segments, nullopt when there is
// nothing to transfer. The flags are looked at only then, as on Linux
// (vfs_readv returns 0 for an empty vector first).
struct V2Call {
    RefPtr<File> file;
    std::vector<abi::Iovec> iovs;
};
KResult<std::optional<V2Call>> start_v2(Thread& t, int fd, GuestAddr iov, u64 count, i64 pos, u32 flags, bool write)
{
    auto file = TRY(file_for(t, fd, v2_position(pos), write));
    auto iovs = TRY(copy_iovecs(t, iov, count));
    if (total_length(iovs) == 0)
        return std::nullopt;
    TRY(check_rw_flags(*file, flags));
    return V2Call { std::move(file), std::move(iovs) };
}

} // namespace

KResult<u64> sys_read(Thread& t, int fd, GuestAddr buf, u64 count)
{
    auto file = TRY(get_file(t, fd));
    TRY(check_readable(*file));
    return at_file_position(*file, false, [&](u64 pos) { return read_into(t, *file, buf, count, pos); });
}

KResult<u64> sys_write(Thread& t, int fd, GuestAddr buf, u64 count)
{
    auto file = TRY(get_file(t, fd));
    TRY(check_writable(*file));
    return at_file_position(*file, file->flags() & O_APPEND,
                            [&](u64 pos) { return write_from(t, *file, buf, count, pos); });
}

KResult<u64> sys_pread64(Thread& t, int fd, GuestAddr buf, u64 count, i64 pos)
{
    auto file = TRY(file_for(t, fd, pos, false));
    return read_into(t, *file, buf, count, static_cast<u64>(pos));
}

KResult<u64> sys_pwrite64(Thread& t, int fd, GuestAddr buf, u64 count, i64 pos)
{
    auto file = TRY(file_for(t, fd, pos, true));
    return at_offset_or_end(*file, static_cast<u64>(pos), file->flags() & O_APPEND,
                            [&](u64 p) { return write_from(t, *file, buf, count, p); });
}

KResult<u64> sys_readv(Thread& t, int fd, GuestAddr iov, u64 count)
{
    auto file = TRY(file_for(t, fd, std::nullopt, false));
    return read_vectored(t, *file, TRY(copy_iovecs(t, iov, count)), std::nullopt);
}

KResult<u64> sys_writev(Thread& t, int fd, GuestAddr iov, u64 count)
{
    auto file = TRY(file_for(t, fd, std::nullopt, true));
    return write_vectored(t, *file, TRY(copy_iovecs(t, iov, count)), std::nullopt, file->flags() & O_APPEND);
}

KResult<u64> sys_preadv(Thread& t, int fd, GuestAddr iov, u64 count, i64 pos)
{
    auto file = TRY(file_for(t, fd, pos, false));
    return read_vectored(t, *file, TRY(copy_iovecs(t, iov, count)), pos);
}

KResult<u64> sys_pwritev(Thread& t, int fd, GuestAddr iov, u64 count, i64 pos)
{
    auto file = TRY(file_for(t, fd, pos, true));
    return write_vectored(t, *file, TRY(copy_iovecs(t, iov, count)), pos, file->flags() & O_APPEND);
}

KResult<u64> sys_preadv2(Thread& t, int fd, GuestAddr iov, u64 count, i64 pos, u64, u32 flags)
{
    auto call = TRY(start_v2(t, fd, iov, count, pos, flags, false));
    if (!call)
        return 0;
    File::NowaitCall nowait(flags & kRwfNowait);
    return read_vectored(t, *call->file, call->iovs, v2_position(pos));
}

KResult<u64> sys_pwritev2(Thread& t, int fd, GuestAddr iov, u64 count, i64 pos, u64, u32 flags)
{
    auto call = TRY(start_v2(t, fd, iov, count, pos, flags, true));
    if (!call)
        return 0;
    File& file = *call->file;
    bool append = ((file.flags() & O_APPEND) || (flags & kRwfAppend)) && !(flags & kRwfNoappend);
    File::NowaitCall nowait(flags & kRwfNowait);
    u64 n = TRY(write_vectored(t, file, call->iovs, v2_position(pos), append));
    if (n > 0 && (flags & (kRwfDsync | kRwfSync)))
        TRY(file.sync());
    return n;
}

KResult<u64> sys_lseek(Thread& t, int fd, i64 offset, u32 whence)
{
    auto file = TRY(get_file(t, fd));
    if (!file->seekable())
        return err(Errno::SPIPE);
    std::lock_guard lock(file->position_lock());
    i64 base = 0;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = static_cast<i64>(file->position_locked()); break;
    case SEEK_END: base = TRY(file->inode().attr()).size; break;
    case SEEK_DATA:
    case SEEK_HOLE: {
        i64 size = TRY(file->inode().attr()).size;
        if (offset < 0 || offset >= size)
            return err(Errno::NXIO);
        i64 r = whence == SEEK_DATA ? offset : size;
        file->set_position_locked(static_cast<u64>(r));
        return static_cast<u64>(r);
    }
    default:
        return err(Errno::INVAL);
    }
    i64 result;
    if (__builtin_add_overflow(base, offset, &result) || result < 0)
        return err(Errno::INVAL);
    file->set_position_locked(static_cast<u64>(result));
    if (result == 0)
        file->dir_snapshot_locked.reset();
    return static_cast<u64>(result);
}

// posix_fadvise(2): a hint; host-backed files pass it on.
KResult<u64> sys_fadvise64(Thread& t, int fd, i64 offset, i64 len, int advice)
{
    auto file = TRY(get_file(t, fd));
    if (dynamic_cast<PipeFile*>(file.get()) || !file->seekable())
        return err(Errno::SPIPE);
    if (len < 0 || advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE)
        return err(Errno::INVAL);
    if (file->host_fd() >= 0)
        (void)posix_fadvise(file->host_fd(), offset, len, advice);
    return 0;
}

// ---- sendfile(2), copy_file_range(2), splice(2): copies inside the
// kernel, through the transfer buffer ----

namespace {

// A position for one side of a copy: the guest's loff_t at `ptr`, or the
// file's own position (0 for streams), read at the start and written back
// by finish(). The position's lock is not held meanwhile (the copy may
// block on a pipe; Linux's sendfile and splice take no f_pos_lock either).
class CopyEnd {
public:
    static KResult<CopyEnd> make(Thread& t, RefPtr<File> file, GuestAddr ptr)
    {
        CopyEnd e;
        e.m_file = std::move(file);
        e.m_ptr = ptr;
        if (!ptr.null()) {
            if (!e.m_file->seekable())
                return err(Errno::SPIPE);
            i64 v = TRY(copy_in<i64>(t, ptr.value));
            if (v < 0)
                return err(Errno::INVAL);
            e.pos = static_cast<u64>(v);
        } else if (e.m_file->seekable()) {
            std::lock_guard lock(e.m_file->position_lock());
            e.pos = e.m_file->position_locked();
            e.m_own_position = true;
        }
        return e;
    }
    KResult<void> finish(Thread& t)
    {
        if (!m_ptr.null())
            return copy_out(t, m_ptr.value, static_cast<i64>(pos));
        if (m_own_position) {
            std::lock_guard lock(m_file->position_lock());
            m_file->set_position_locked(pos);
        }
        return {};
    }
    File& file() { return *m_file; }
    u64 pos { 0 };

private:
    RefPtr<File> m_file;
    GuestAddr m_ptr {};
    bool m_own_position { false };
};

KResult<u64> copy_between(Thread& t, CopyEnd& in, CopyEnd& out, u64 count)
{
    count = std::min(count, kMaxRwCount);
    u64 done = 0;
    while (done < count) {
        auto chunk = transfer_buffer(count - done);
        auto n = in.file().read(chunk, in.pos);
        if (!n) {
            if (done > 0)
                break;
            return err(n.error());
        }
        if (*n == 0)
            break;
        auto w = out.file().write(chunk.first(*n), out.pos);
        if (!w) {
            if (done > 0)
                break;
            return err(w.error());
        }
        in.pos += *w;
        out.pos += *w;
        done += *w;
        if (*w < *n || (!in.file().seekable() && *n < chunk.size()))
            break; // short: a full output, or a stream that gave what it had
    }
    TRY(in.finish(t));
    TRY(out.finish(t));
    return done;
}

// The two ends (a file copied to itself through its own position:
// EINVAL).
KResult<std::pair<CopyEnd, CopyEnd>> copy_ends(Thread& t, int in_fd, GuestAddr in_ptr, int out_fd, GuestAddr out_ptr)
{
    auto in_file = TRY(get_file(t, in_fd));
    auto out_file = TRY(get_file(t, out_fd));
    if (!in_file->readable() || !out_file->writable())
        return err(Errno::BADF);
    if (in_file == out_file && in_ptr.null() && out_ptr.null() && in_file->seekable())
        return err(Errno::INVAL);
    auto in = TRY(CopyEnd::make(t, in_file, in_ptr));
    auto out = TRY(CopyEnd::make(t, out_file, out_ptr));
    return std::pair { std::move(in), std::move(out) };
}

} // namespace

KResult<u64> sys_sendfile(Thread& t, int out_fd, int in_fd, GuestAddr offset, u64 count)
{
    auto out_file = TRY(get_file(t, out_fd));
    if (out_file->flags() & O_APPEND)
        return err(Errno::INVAL);
    auto [in, out] = TRY(copy_ends(t, in_fd, offset, out_fd, GuestAddr {}));
    return copy_between(t, in, out, count);
}

KResult<u64> sys_copy_file_range(Thread& t, int in_fd, GuestAddr off_in, int out_fd, GuestAddr off_out, u64 len, u32 flags)
{
    if (flags)
        return err(Errno::INVAL);
    auto in_file = TRY(get_file(t, in_fd));
    auto out_file = TRY(get_file(t, out_fd));
    if (!in_file->readable() || !out_file->writable() || (out_file->flags() & O_APPEND))
        return err(Errno::BADF);
    auto in_attr = TRY(in_file->inode().attr());
    auto out_attr = TRY(out_file->inode().attr());
    if (S_ISDIR(in_attr.mode) || S_ISDIR(out_attr.mode))
        return err(Errno::ISDIR);
    if (!S_ISREG(in_attr.mode) || !S_ISREG(out_attr.mode))
        return err(Errno::INVAL);
    auto [in, out] = TRY(copy_ends(t, in_fd, off_in, out_fd, off_out));
    // Linux's generic_copy_file_checks: nothing read past the largest
    // offset, nothing written past the largest file (EFBIG).
    constexpr u64 kMaxOffset = static_cast<u64>(std::numeric_limits<i64>::max());
    len = std::min(len, kMaxOffset - std::min(in.pos, kMaxOffset));
    if (len > 0 && out.pos > kMaxOffset - len)
        return err(Errno::FBIG);
    // Overlapping ranges of one file: EINVAL.
    if (in_attr.dev == out_attr.dev && in_attr.ino == out_attr.ino && in.pos < out.pos + len && out.pos < in.pos + len)
        return err(Errno::INVAL);
    return copy_between(t, in, out, len);
}

KResult<u64> sys_splice(Thread& t, int in_fd, GuestAddr off_in, int out_fd, GuestAddr off_out, u64 len, u32 flags)
{
    constexpr u32 kKnown = 1 | 2 | 4 | 8; // SPLICE_F_MOVE, NONBLOCK, MORE, GIFT
    if (flags & ~kKnown)
        return err(Errno::INVAL);
    auto in_file = TRY(get_file(t, in_fd));
    auto out_file = TRY(get_file(t, out_fd));
    bool in_pipe = dynamic_cast<PipeFile*>(in_file.get()), out_pipe = dynamic_cast<PipeFile*>(out_file.get());
    if (!in_pipe && !out_pipe)
        return err(Errno::INVAL);
    if ((in_pipe && !off_in.null()) || (out_pipe && !off_out.null()))
        return err(Errno::SPIPE);
    if (out_file->flags() & O_APPEND)
        return err(Errno::INVAL);
    auto [in, out] = TRY(copy_ends(t, in_fd, off_in, out_fd, off_out));
    return copy_between(t, in, out, len);
}

// tee(2): bytes of one pipe copied into another, without taking them.
KResult<u64> sys_tee(Thread& t, int in_fd, int out_fd, u64 len, u32 flags)
{
    constexpr u32 kKnown = 1 | 2 | 4 | 8; // SPLICE_F_MOVE, NONBLOCK, MORE, GIFT
    if (flags & ~kKnown)
        return err(Errno::INVAL);
    auto in_file = TRY(get_file(t, in_fd));
    auto out_file = TRY(get_file(t, out_fd));
    TRY(check_readable(*in_file));
    TRY(check_writable(*out_file));
    auto* in = dynamic_cast<PipeFile*>(in_file.get());
    auto* out = dynamic_cast<PipeFile*>(out_file.get());
    if (!in || !out || &in->pipe() == &out->pipe())
        return err(Errno::INVAL);
    if (len == 0)
        return 0;
    return TRY(in->pipe().tee_into(out->pipe(), std::min<u64>(len, kPipeMaxSize), flags & 2));
}

// vmsplice(2): user memory into a pipe's write end, or out of its read
// end (copies; SPLICE_F_GIFT changes nothing then).
KResult<u64> sys_vmsplice(Thread& t, int fd, GuestAddr iov, u64 count, u32 flags)
{
    constexpr u32 kKnown = 1 | 2 | 4 | 8;
    if (flags & ~kKnown)
        return err(Errno::INVAL);
    auto file = TRY(get_file(t, fd));
    auto* pipe = dynamic_cast<PipeFile*>(file.get());
    if (!pipe)
        return err(Errno::BADF);
    bool nonblock = (flags & 2) || (file->flags() & O_NONBLOCK);
    auto iovs = TRY(copy_iovecs(t, iov, count));
    if (file->writable()) {
        return vectored(iovs, 0, [&](GuestAddr b, u64 n, u64) -> KResult<u64> {
            std::vector<u8> bytes(std::min<u64>(n, kPipeMaxSize));
            TRY(t.mm().copy_in(b.value, bytes));
            return TRY(pipe->pipe().write(bytes, nonblock));
        });
    }
    if (!file->readable())
        return err(Errno::BADF);
    return vectored(iovs, 0, [&](GuestAddr b, u64 n, u64) -> KResult<u64> {
        std::vector<u8> bytes(std::min<u64>(n, kPipeMaxSize));
        usize got = TRY(pipe->pipe().read(bytes, nonblock));
        TRY(t.mm().copy_out(b.value, std::span<const u8>(bytes.data(), got)));
        return got;
    });
}

} // namespace umk::kernel
