#include "kernel/fs/tmpfs/tmpfs.h"

#include <sys/xattr.h>

#include "host/files.h"
#include "host/result.h"
#include "kernel/fs/hostfs/hostfs.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>

namespace umk::kernel {

Timespec now_realtime()
{
    timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return { ts.tv_sec, ts.tv_nsec };
}

static std::atomic<u64> g_next_tmpfs_dev { 0x1000 };

constexpr u64 kPage = 4096;

Tmpfs::Tmpfs() : m_dev(g_next_tmpfs_dev++)
{
    m_root = RefPtr<TmpfsInode>(new TmpfsInode(*this, S_IFDIR | 01777, 0, 0));
}

void Tmpfs::set_limits(u64 max_pages, u64 max_inodes)
{
    m_usage->max_pages = max_pages;
    m_usage->max_inodes = max_inodes;
}

KResult<RefPtr<TmpfsInode>> Tmpfs::new_inode(u32 mode, u32 uid, u32 gid, unsigned memfd_flags)
{
    if (m_usage->max_inodes && m_usage->inodes.load() >= m_usage->max_inodes)
        return err(Errno::NOSPC);
    RefPtr<TmpfsInode> inode(new TmpfsInode(*this, mode, uid, gid));
    // A file's seals are its host memfd's (F_ADD_SEALS goes there): the
    // host enforces them on writes, truncation and shared mappings alike.
    // Without MFD_ALLOW_SEALING the host starts it sealed (F_SEAL_SEAL),
    // as Linux's tmpfs files.
    if (S_ISREG(mode))
        inode->m_memfd = TRY(host::memfd("umk-tmpfs", memfd_flags));
    return inode;
}

TmpfsInode::~TmpfsInode()
{
    m_usage->pages -= m_charged_pages;
    m_usage->inodes--;
}

TmpfsInode::TmpfsInode(Tmpfs& fs, u32 mode, u32 uid, u32 gid) : m_fs(fs), m_usage(fs.m_usage)
{
    m_usage->inodes++;
    m_attr.dev = fs.m_dev;
    m_attr.ino = fs.m_next_ino++;
    m_attr.mode = mode;
    m_attr.uid = uid;
    m_attr.gid = gid;
    m_attr.nlink = S_ISDIR(mode) ? 2 : 1;
    m_attr.size = S_ISDIR(mode) ? 40 : 0;
    m_attr.atime = m_attr.mtime = m_attr.ctime = now_realtime();
    m_attr.btime = m_attr.atime;
}

void TmpfsInode::touch_locked() { m_attr.mtime = m_attr.ctime = now_realtime(); }

KResult<InodeAttr> TmpfsInode::attr()
{
    std::lock_guard lock(m_lock);
    InodeAttr a = m_attr;
    if (S_ISREG(a.mode)) {
        auto st = TRY(host::stat_fd(m_memfd.get()));
        a.size = st.size;
        a.blocks = st.blocks;
    } else if (S_ISLNK(a.mode)) {
        a.size = static_cast<i64>(m_target.size());
    }
    return a;
}

KResult<RefPtr<Inode>> TmpfsInode::lookup(std::string_view name)
{
    std::lock_guard lock(m_lock);
    if (!S_ISDIR(m_attr.mode))
        return err(Errno::NOTDIR);
    auto it = m_entries.find(name);
    if (it == m_entries.end())
        return err(Errno::NOENT);
    return RefPtr<Inode>(it->second);
}

KResult<std::vector<DirEntry>> TmpfsInode::list()
{
    std::lock_guard lock(m_lock);
    if (!S_ISDIR(m_attr.mode))
        return err(Errno::NOTDIR);
    std::vector<DirEntry> out;
    out.reserve(m_entries.size());
    for (auto& [name, inode] : m_entries)
        out.push_back({ name, inode->m_attr.ino, dirent_type(inode->m_attr.mode) });
    return out;
}

KResult<RefPtr<TmpfsInode>> TmpfsInode::add_entry(std::string_view name, RefPtr<TmpfsInode> inode)
{
    std::lock_guard lock(m_lock);
    if (!S_ISDIR(m_attr.mode))
        return err(Errno::NOTDIR);
    if (m_attr.nlink == 0)
        return err(Errno::NOENT);
    if (m_entries.contains(name))
        return err(Errno::EXIST);
    if (S_ISDIR(inode->m_attr.mode))
        m_attr.nlink++;
    if (auto w = m_whiteouts.find(name); w != m_whiteouts.end())
        m_whiteouts.erase(w);
    m_entries.emplace(std::string(name), inode);
    touch_locked();
    return inode;
}

KResult<RefPtr<Inode>> TmpfsInode::create(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    auto inode = TRY(m_fs.new_inode(mode, uid, gid));
    return RefPtr<Inode>(TRY(add_entry(name, inode)));
}

KResult<RefPtr<Inode>> TmpfsInode::mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid)
{
    auto inode = TRY(m_fs.new_inode(mode, uid, gid));
    if (S_ISCHR(mode) || S_ISBLK(mode))
        inode->m_attr.rdev = rdev;
    return RefPtr<Inode>(TRY(add_entry(name, inode)));
}

KResult<RefPtr<Inode>> TmpfsInode::make_tmpfile(u32 mode, u32 uid, u32 gid, bool linkable)
{
    if (!S_ISDIR(m_attr.mode))
        return err(Errno::NOTDIR);
    auto inode = TRY(m_fs.new_inode(S_IFREG | (mode & 07777), uid, gid));
    inode->m_attr.nlink = 0;
    inode->m_linkable = linkable;
    return RefPtr<Inode>(inode);
}

KResult<RefPtr<Inode>> TmpfsInode::mkdir(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    auto inode = TRY(m_fs.new_inode(S_IFDIR | (mode & 07777), uid, gid));
    std::lock_guard rename_lock(m_fs.m_rename_lock);
    TRY(add_entry(name, inode));
    inode->m_dir_parent = this;
    return RefPtr<Inode>(inode);
}

KResult<RefPtr<Inode>> TmpfsInode::symlink(std::string_view name, std::string_view target, u32 uid, u32 gid)
{
    auto inode = TRY(m_fs.new_inode(S_IFLNK | 0777, uid, gid));
    inode->m_target = std::string(target);
    return RefPtr<Inode>(TRY(add_entry(name, inode)));
}

KResult<void> TmpfsInode::unlink(std::string_view name)
{
    std::lock_guard lock(m_lock);
    auto it = m_entries.find(name);
    if (it == m_entries.end())
        return err(Errno::NOENT);
    if (S_ISDIR(it->second->m_attr.mode))
        return err(Errno::ISDIR);
    {
        std::lock_guard child_lock(it->second->m_lock);
        it->second->m_attr.nlink--;
        it->second->m_attr.ctime = now_realtime();
    }
    m_entries.erase(it);
    touch_locked();
    return {};
}

KResult<void> TmpfsInode::rmdir(std::string_view name)
{
    std::lock_guard rename_lock(m_fs.m_rename_lock);
    std::lock_guard lock(m_lock);
    auto it = m_entries.find(name);
    if (it == m_entries.end())
        return err(Errno::NOENT);
    auto& child = it->second;
    if (!S_ISDIR(child->m_attr.mode))
        return err(Errno::NOTDIR);
    {
        std::lock_guard child_lock(child->m_lock);
        if (!child->m_entries.empty())
            return err(Errno::NOTEMPTY);
        child->m_attr.nlink = 0;
        child->m_dir_parent = nullptr;
    }
    m_entries.erase(it);
    m_attr.nlink--;
    touch_locked();
    return {};
}

std::pair<std::unique_lock<std::mutex>, std::unique_lock<std::mutex>> TmpfsInode::lock_pair(TmpfsInode& other)
{
    if (&other == this)
        return { std::unique_lock(m_lock), std::unique_lock<std::mutex>() };
    // Two directories: by address.
    auto* a = this < &other ? this : &other;
    auto* b = this < &other ? &other : this;
    std::unique_lock first(a->m_lock);
    return { std::move(first), std::unique_lock(b->m_lock) };
}

bool TmpfsInode::is_ancestor_of(const TmpfsInode* dir) const
{
    for (; dir; dir = dir->m_dir_parent)
        if (dir == this)
            return true;
    return false;
}

KResult<void> TmpfsInode::rename(std::string_view name, Inode& new_dir_inode, std::string_view new_name)
{
    auto& new_dir = static_cast<TmpfsInode&>(new_dir_inode);
    std::lock_guard rename_lock(m_fs.m_rename_lock);
    auto locks = lock_pair(new_dir);
    auto it = m_entries.find(name);
    if (it == m_entries.end() || new_dir.m_attr.nlink == 0)
        return err(Errno::NOENT);
    RefPtr<TmpfsInode> moving = it->second;
    bool moving_dir = S_ISDIR(moving->m_attr.mode);
    // Not into itself, however the caller found the two directories.
    if (moving_dir && moving->is_ancestor_of(&new_dir))
        return err(Errno::INVAL);
    if (auto dest = new_dir.m_entries.find(new_name); dest != new_dir.m_entries.end()) {
        RefPtr<TmpfsInode> old = dest->second;
        if (old == moving)
            return {};
        bool old_dir = S_ISDIR(old->m_attr.mode);
        if (moving_dir && !old_dir)
            return err(Errno::NOTDIR);
        if (!moving_dir && old_dir)
            return err(Errno::ISDIR);
        if (old_dir) {
            std::lock_guard old_lock(old->m_lock);
            if (!old->m_entries.empty())
                return err(Errno::NOTEMPTY);
            old->m_attr.nlink = 0;
            old->m_dir_parent = nullptr;
            new_dir.m_attr.nlink--;
        } else {
            std::lock_guard old_lock(old->m_lock);
            old->m_attr.nlink--;
        }
        new_dir.m_entries.erase(dest);
    }
    m_entries.erase(it);
    new_dir.m_entries.emplace(std::string(new_name), moving);
    if (auto w = new_dir.m_whiteouts.find(new_name); w != new_dir.m_whiteouts.end())
        new_dir.m_whiteouts.erase(w);
    if (moving_dir && &new_dir != this) {
        m_attr.nlink--;
        new_dir.m_attr.nlink++;
    }
    if (moving_dir)
        moving->m_dir_parent = &new_dir;
    touch_locked();
    new_dir.touch_locked();
    return {};
}

KResult<void> TmpfsInode::exchange(std::string_view name, Inode& other_dir_inode, std::string_view other_name)
{
    auto& other_dir = static_cast<TmpfsInode&>(other_dir_inode);
    std::lock_guard rename_lock(m_fs.m_rename_lock);
    auto locks = lock_pair(other_dir);
    auto it = m_entries.find(name);
    auto other = other_dir.m_entries.find(other_name);
    if (it == m_entries.end() || other == other_dir.m_entries.end())
        return err(Errno::NOENT);
    // A directory changing parents moves its ".." link count along.
    bool dir_here = S_ISDIR(it->second->m_attr.mode), dir_there = S_ISDIR(other->second->m_attr.mode);
    if ((dir_here && it->second->is_ancestor_of(&other_dir)) || (dir_there && other->second->is_ancestor_of(this)))
        return err(Errno::INVAL);
    if (dir_here)
        it->second->m_dir_parent = &other_dir;
    if (dir_there)
        other->second->m_dir_parent = this;
    if (&other_dir != this && dir_here != dir_there) {
        int delta = dir_here ? 1 : -1;
        m_attr.nlink -= delta;
        other_dir.m_attr.nlink += delta;
    }
    std::swap(it->second, other->second);
    touch_locked();
    other_dir.touch_locked();
    return {};
}

KResult<void> TmpfsInode::link(Inode& target_inode, std::string_view name)
{
    auto* target = dynamic_cast<TmpfsInode*>(&target_inode);
    if (!target)
        return err(Errno::XDEV);
    if (S_ISDIR(target->m_attr.mode))
        return err(Errno::PERM);
    {
        // A file with no name left stays nameless, unless it is an
        // O_TMPFILE one (vfs_link's I_LINKABLE).
        std::lock_guard lock(target->m_lock);
        if (target->m_attr.nlink == 0 && !target->m_linkable)
            return err(Errno::NOENT);
    }
    TRY(add_entry(name, RefPtr<TmpfsInode>(target)));
    std::lock_guard lock(target->m_lock);
    target->m_linkable = false;
    target->m_attr.nlink++;
    target->m_attr.ctime = now_realtime();
    return {};
}

KResult<std::string> TmpfsInode::readlink()
{
    std::lock_guard lock(m_lock);
    if (!S_ISLNK(m_attr.mode))
        return err(Errno::INVAL);
    return m_target;
}

KResult<void> TmpfsInode::chmod(u32 mode)
{
    std::lock_guard lock(m_lock);
    m_attr.mode = (m_attr.mode & S_IFMT) | (mode & 07777);
    m_attr.ctime = now_realtime();
    return {};
}

KResult<void> TmpfsInode::chown(u32 uid, u32 gid)
{
    std::lock_guard lock(m_lock);
    if (uid != ~0U)
        m_attr.uid = uid;
    if (gid != ~0U)
        m_attr.gid = gid;
    m_attr.ctime = now_realtime();
    return {};
}

KResult<void> TmpfsInode::truncate(u64 length)
{
    std::lock_guard lock(m_lock);
    if (S_ISDIR(m_attr.mode))
        return err(Errno::ISDIR);
    if (!S_ISREG(m_attr.mode))
        return err(Errno::INVAL);
    TRY(host::ftruncate(m_memfd.get(), length));
    recharge_locked();
    touch_locked();
    return {};
}

void TmpfsInode::recharge_locked()
{
    if (!m_usage->max_pages)
        return; // only a limited tmpfs counts
    auto st = host::stat_fd(m_memfd.get());
    if (!st)
        return;
    u64 pages = static_cast<u64>(st->blocks) * 512 / kPage;
    m_usage->pages += pages - m_charged_pages; // unsigned wrap subtracts
    m_charged_pages = pages;
}

KResult<usize> TmpfsInode::write_data(int fd, std::span<const u8> data, u64 pos)
{
    if (!m_usage->max_pages)
        return host::pwrite(fd, data, pos);
    std::lock_guard lock(m_lock);
    u64 used = m_usage->pages.load();
    u64 room = used < m_usage->max_pages ? m_usage->max_pages - used : 0;
    auto [pages, fits_until] = TRY(host::unallocated_pages(m_memfd.get(), pos, data.size(), kPage, room));
    if (pages > room) {
        if (fits_until <= pos)
            return err(Errno::NOSPC);
        data = data.first(fits_until - pos); // as much as fits, as Linux's shmem does
    }
    auto written = host::pwrite(fd, data, pos);
    recharge_locked();
    return written;
}

KResult<void> TmpfsInode::allocate(int fd, int mode, u64 offset, u64 length)
{
    std::lock_guard lock(m_lock);
    if (m_usage->max_pages && !(mode & FALLOC_FL_PUNCH_HOLE)) {
        u64 used = m_usage->pages.load();
        u64 room = used < m_usage->max_pages ? m_usage->max_pages - used : 0;
        if (TRY(host::unallocated_pages(m_memfd.get(), offset, length, kPage, room)).pages > room)
            return err(Errno::NOSPC); // all or nothing (shmem_fallocate)
    }
    if (::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0)
        return err(host::errno_from_host(errno));
    recharge_locked();
    return {};
}

KResult<void> TmpfsInode::set_times(std::optional<Timespec> atime, std::optional<Timespec> mtime)
{
    std::lock_guard lock(m_lock);
    if (atime)
        m_attr.atime = *atime;
    if (mtime)
        m_attr.mtime = *mtime;
    m_attr.ctime = now_realtime();
    return {};
}

// tmpfs's magic; its size= limit, or half the host's memory, Linux's
// default for a tmpfs (whose use is then not counted).
std::optional<FsStats> TmpfsInode::statfs()
{
    FsStats s;
    s.type = 0x01021994; // TMPFS_MAGIC
    u64 half = static_cast<u64>(sysconf(_SC_PHYS_PAGES)) / 2;
    s.blocks = m_usage->max_pages ? m_usage->max_pages : half;
    u64 used = std::min<u64>(m_usage->pages.load(), s.blocks);
    s.bfree = s.bavail = s.blocks - used;
    s.files = m_usage->max_inodes ? m_usage->max_inodes : half;
    s.ffree = s.files - std::min<u64>(m_usage->inodes.load(), s.files);
    return s;
}

KResult<usize> TmpfsFile::read(std::span<u8> out, u64 pos) { return host::pread(m_fd.get(), out, pos); }

KResult<usize> TmpfsFile::write(std::span<const u8> data, u64 pos)
{
    return static_cast<TmpfsInode&>(inode()).write_data(m_fd.get(), data, pos);
}

KResult<RefPtr<File>> TmpfsInode::open(int flags)
{
    u32 type = m_attr.mode & S_IFMT;
    if (type == S_IFDIR)
        return RefPtr<File>(new HostFile(RefPtr<Inode>(this), flags, host::Fd()));
    if (type != S_IFREG)
        return err(Errno::NXIO);
    if (flags & O_TRUNC)
        TRY(truncate(0));
    // Each open file gets its own host fd on the memfd: the host fd is
    // shared state only through the file's contents, never its position.
    // A read-only open gets a read-only one: mapped shared into a guest,
    // the host itself refuses to make it writable.
    if ((flags & O_ACCMODE) == O_RDONLY)
        return RefPtr<File>(new TmpfsFile(RefPtr<Inode>(this), flags, TRY(host::reopen(m_memfd.get(), O_RDONLY))));
    int fd = fcntl(m_memfd.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return err(Errno::MFILE);
    return RefPtr<File>(new TmpfsFile(RefPtr<Inode>(this), flags, host::Fd(fd)));
}

// tmpfs keeps the user, trusted and security namespaces (Linux's
// shmem_xattr_handlers).
static bool tmpfs_xattr_namespace(std::string_view name)
{
    return name.starts_with("user.") || name.starts_with("trusted.") || name.starts_with("security.");
}

KResult<std::vector<u8>> TmpfsInode::get_xattr(std::string_view name)
{
    if (!tmpfs_xattr_namespace(name))
        return err(Errno::OPNOTSUPP);
    std::lock_guard lock(m_lock);
    auto it = m_xattrs.find(name);
    if (it == m_xattrs.end())
        return err(Errno::NODATA);
    return it->second;
}

KResult<void> TmpfsInode::set_xattr(std::string_view name, std::span<const u8> value, int flags)
{
    if (!tmpfs_xattr_namespace(name))
        return err(Errno::OPNOTSUPP);
    std::lock_guard lock(m_lock);
    auto it = m_xattrs.find(name);
    if ((flags & XATTR_CREATE) && it != m_xattrs.end())
        return err(Errno::EXIST);
    if ((flags & XATTR_REPLACE) && it == m_xattrs.end())
        return err(Errno::NODATA);
    m_xattrs[std::string(name)] = std::vector<u8>(value.begin(), value.end());
    m_attr.ctime = now_realtime();
    return {};
}

KResult<void> TmpfsInode::remove_xattr(std::string_view name)
{
    if (!tmpfs_xattr_namespace(name))
        return err(Errno::OPNOTSUPP);
    std::lock_guard lock(m_lock);
    auto it = m_xattrs.find(name);
    if (it == m_xattrs.end())
        return err(Errno::NODATA);
    m_xattrs.erase(it);
    m_attr.ctime = now_realtime();
    return {};
}

KResult<std::vector<std::string>> TmpfsInode::list_xattrs()
{
    std::lock_guard lock(m_lock);
    std::vector<std::string> names;
    for (auto& [name, value] : m_xattrs)
        names.push_back(name);
    return names;
}

bool TmpfsInode::has_whiteout(std::string_view name)
{
    std::lock_guard lock(m_lock);
    return m_whiteouts.contains(name);
}

KResult<void> TmpfsInode::add_whiteout(std::string_view name)
{
    std::lock_guard lock(m_lock);
    m_whiteouts.insert_or_assign(std::string(name), true);
    return {};
}

// Also done by any new entry of the name (add_entry, rename).
KResult<void> TmpfsInode::remove_whiteout(std::string_view name)
{
    std::lock_guard lock(m_lock);
    if (auto w = m_whiteouts.find(name); w != m_whiteouts.end())
        m_whiteouts.erase(w);
    return {};
}

bool TmpfsInode::opaque()
{
    std::lock_guard lock(m_lock);
    return m_opaque;
}

KResult<void> TmpfsInode::set_opaque()
{
    std::lock_guard lock(m_lock);
    m_opaque = true;
    return {};
}

} // namespace umk::kernel
