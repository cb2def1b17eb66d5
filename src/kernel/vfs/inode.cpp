#include "kernel/vfs/file.h"

#include "kernel/ipc/epoll.h"
#include "kernel/vfs/dentry.h"
#include "kernel/vfs/anon_inode.h"
#include "kernel/vfs/locks.h"
#include "kernel/vfs/notify.h"

#include <dirent.h>
#include <map>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>

namespace umk::kernel {

u8 dirent_type(u32 mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return DT_REG;
    case S_IFDIR: return DT_DIR;
    case S_IFLNK: return DT_LNK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFIFO: return DT_FIFO;
    case S_IFSOCK: return DT_SOCK;
    }
    return DT_UNKNOWN;
}

bool has_entries(const std::vector<DirEntry>& entries)
{
    for (auto& e : entries)
        if (e.name != "." && e.name != "..")
            return true;
    return false;
}

bool Inode::is_dir()
{
    auto a = attr();
    return a && S_ISDIR(a->mode);
}

// A non-directory answers ENOTDIR to directory operations; a read-only
// file system answers EROFS to changes (subclasses override).
KResult<RefPtr<Inode>> Inode::lookup(std::string_view) { return err(Errno::NOTDIR); }
KResult<std::vector<DirEntry>> Inode::list() { return err(Errno::NOTDIR); }
KResult<RefPtr<Inode>> Inode::create(std::string_view, u32, u32, u32) { return err(Errno::ROFS); }
KResult<RefPtr<Inode>> Inode::mkdir(std::string_view, u32, u32, u32) { return err(Errno::ROFS); }
KResult<RefPtr<Inode>> Inode::symlink(std::string_view, std::string_view, u32, u32) { return err(Errno::ROFS); }
KResult<void> Inode::exchange(std::string_view, Inode&, std::string_view) { return err(Errno::INVAL); }
KResult<RefPtr<Inode>> Inode::make_tmpfile(u32, u32, u32, bool) { return err(Errno::OPNOTSUPP); }
KResult<RefPtr<Dentry>> Inode::jump() { return RefPtr<Dentry>(); }

KResult<RefPtr<Inode>> Inode::mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid)
{
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return err(Errno::PERM);
    (void)rdev;
    return create(name, mode, uid, gid);
}
KResult<void> Inode::unlink(std::string_view) { return err(Errno::ROFS); }
KResult<void> Inode::rmdir(std::string_view) { return err(Errno::ROFS); }
KResult<void> Inode::rename(std::string_view, Inode&, std::string_view) { return err(Errno::ROFS); }
KResult<void> Inode::link(Inode&, std::string_view) { return err(Errno::ROFS); }
KResult<std::string> Inode::readlink() { return err(Errno::INVAL); }
KResult<void> Inode::chmod(u32) { return err(Errno::ROFS); }
KResult<void> Inode::chown(u32, u32) { return err(Errno::ROFS); }
KResult<void> Inode::truncate(u64) { return err(Errno::ROFS); }
KResult<void> Inode::set_times(std::optional<Timespec>, std::optional<Timespec>) { return err(Errno::ROFS); }

KResult<usize> File::read(std::span<u8>, u64) { return err(Errno::INVAL); }
KResult<usize> File::write(std::span<const u8>, u64) { return err(Errno::INVAL); }
KResult<std::vector<DirEntry>> File::list() { return err(Errno::NOTDIR); }
KResult<u64> File::ioctl(Thread&, u64, u64) { return err(Errno::NOTTY); }

KResult<std::vector<u8>> Inode::get_xattr(std::string_view) { return err(Errno::OPNOTSUPP); }
KResult<void> Inode::set_xattr(std::string_view, std::span<const u8>, int) { return err(Errno::OPNOTSUPP); }
KResult<void> Inode::remove_xattr(std::string_view) { return err(Errno::OPNOTSUPP); }
KResult<std::vector<std::string>> Inode::list_xattrs() { return std::vector<std::string>(); }

namespace {

// Inode::FileKey -> writers (> 0) or runners (< 0).
std::mutex g_write_counts_lock;
std::map<Inode::FileKey, int> g_write_counts;

// Adds `delta` to the key's count unless the count has the other sign.
bool add_write_count(const Inode::FileKey& key, int delta)
{
    std::lock_guard lock(g_write_counts_lock);
    int& n = g_write_counts[key];
    if ((delta > 0 && n < 0) || (delta < 0 && n > 0))
        return false;
    n += delta;
    if (n == 0)
        g_write_counts.erase(key);
    return true;
}

void drop_write_count(const Inode::FileKey& key, int delta)
{
    std::lock_guard lock(g_write_counts_lock);
    auto it = g_write_counts.find(key);
    if (it != g_write_counts.end() && (it->second -= delta) == 0)
        g_write_counts.erase(it);
}

} // namespace

template <int Delta>
KResult<WriteCount<Delta>> WriteCount<Delta>::take(Inode& inode)
{
    auto key = inode.file_key();
    if (!add_write_count(key, Delta))
        return err(Errno::TXTBSY);
    return WriteCount(key);
}

template <int Delta>
WriteCount<Delta>& WriteCount<Delta>::operator=(WriteCount&& other) noexcept
{
    if (this != &other) {
        WriteCount old(std::move(*this));
        m_key = std::exchange(other.m_key, std::nullopt);
    }
    return *this;
}

template <int Delta>
WriteCount<Delta>::~WriteCount()
{
    if (m_key)
        drop_write_count(*m_key, Delta);
}

template class WriteCount<1>;
template class WriteCount<-1>;

File::~File()
{
    if (m_dentry && !(flags() & O_PATH))
        fsnotify_dentry(*m_dentry, writable() ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
    if (has_locks)
        release_file_locks(*this);
    // No new watcher can come: adding one needs a reference to this file.
    if (!epoll_watchers.empty())
        epoll_forget_file(*this);
}

const int AnonInode::kAnonFs = 0;

InodeAttr anon_inode_attr()
{
    InodeAttr a;
    a.dev = 0xe;
    a.ino = 1;
    a.mode = 0600;
    a.blksize = 4096;
    a.atime = a.mtime = a.ctime = now_realtime();
    return a;
}

KResult<InodeAttr> AnonInode::attr() { return anon_inode_attr(); }

void File::set_status_flags(int flags)
{
    constexpr int kSettable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
    int old = m_flags.load();
    while (!m_flags.compare_exchange_weak(old, (old & ~kSettable) | (flags & kSettable))) {
    }
}

namespace {
thread_local bool t_nowait_call = false;
}

bool File::nonblocking() const { return (flags() & O_NONBLOCK) || t_nowait_call; }

namespace {
thread_local u64 t_stale_found = 0;
} // namespace

u64 Inode::stale_found() { return t_stale_found; }

void Inode::found_stale() { t_stale_found++; }

File::NowaitCall::NowaitCall(bool nowait) : m_was(t_nowait_call) { t_nowait_call = nowait || m_was; }
File::NowaitCall::~NowaitCall() { t_nowait_call = m_was; }

int File::access_mode() const { return m_flags.load() & O_ACCMODE; }
bool File::readable() const { return !(flags() & O_PATH) && (access_mode() == O_RDONLY || access_mode() == O_RDWR); }
bool File::writable() const { return !(flags() & O_PATH) && (access_mode() == O_WRONLY || access_mode() == O_RDWR); }

} // namespace umk::kernel
