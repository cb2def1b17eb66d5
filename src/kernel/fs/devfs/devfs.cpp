#include "kernel/fs/devfs/devfs.h"

#include "kernel/fs/tmpfs/tmpfs.h"
#include "kernel/tty/console.h"
#include "kernel/tty/pty.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace umk::kernel {

namespace {

constexpr u64 kDevfsDev = 0x5; // "devtmpfs"

enum class Device { Null, Zero, Full, Random, Urandom };

class DeviceFile final : public File {
public:
    DeviceFile(RefPtr<Inode> inode, int flags, Device d) : File(std::move(inode), flags), m_device(d) {}

    KResult<usize> read(std::span<u8> out, u64) override
    {
        switch (m_device) {
        case Device::Null:
            return 0;
        case Device::Zero:
        case Device::Full:
            std::memset(out.data(), 0, out.size());
            return out.size();
        case Device::Random:
        case Device::Urandom: {
            usize n = std::min<usize>(out.size(), 1 << 20);
            ssize_t got = getrandom(out.data(), n, 0);
            return got < 0 ? KResult<usize>(err(Errno::INTR)) : static_cast<usize>(got);
        }
        }
        return 0;
    }
    std::optional<KResult<u64>> write_unread(u64 count) override
    {
        switch (m_device) {
        case Device::Null:
        case Device::Zero:
            return count;
        case Device::Full:
            return err(Errno::NOSPC);
        case Device::Random:
        case Device::Urandom:
            break;
        }
        return std::nullopt;
    }
    // /dev/random and /dev/urandom take the data (Linux mixes it in).
    KResult<usize> write(std::span<const u8> data, u64) override { return data.size(); }
    bool seekable() const override { return true; } // lseek on these succeeds and means nothing
    // Linux's random devices poll; null, zero and full have no poll method.
    bool pollable() const override { return m_device == Device::Random || m_device == Device::Urandom; }

private:
    Device m_device;
};

class DeviceInode final : public Inode {
public:
    DeviceInode(u64 ino, u32 major_no, u32 minor_no, u32 mode, Device d)
        : m_ino(ino), m_rdev(makedev(major_no, minor_no)), m_mode(mode), m_device(d), m_time(now_realtime()) {}

    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = kDevfsDev;
        a.ino = m_ino;
        a.mode = S_IFCHR | m_mode;
        a.rdev = m_rdev;
        a.atime = a.mtime = a.ctime = m_time;
        a.blksize = 4096;
        return a;
    }
    KResult<RefPtr<File>> open(int flags) override
    {
        return RefPtr<File>(new DeviceFile(RefPtr<Inode>(this), flags, m_device));
    }
    const void* fs_id() const override { return &kDevfsDev; }

private:
    u64 m_ino;
    u64 m_rdev;
    u32 m_mode;
    Device m_device;
    Timespec m_time;
};

// /dev/tty: the user's terminal when umk has one, else ENXIO (no
// controlling terminal).
class TtyInode final : public Inode {
public:
    explicit TtyInode(int console_fd) : m_console_fd(console_fd), m_time(now_realtime()) {}
    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = kDevfsDev;
        a.ino = 7;
        a.mode = S_IFCHR | 0666;
        a.rdev = makedev(5, 0);
        a.atime = a.mtime = a.ctime = m_time;
        return a;
    }
    KResult<RefPtr<File>> open(int flags) override
    {
        // The caller's controlling terminal when it is a pty, else the
        // user's terminal.
        if (auto pty = TRY(open_controlling_pty(RefPtr<Inode>(this), flags)))
            return pty;
        Thread* t = current_thread();
        if (m_console_fd < 0 || (t && !t->process().console_ctty))
            return err(Errno::NXIO); // no controlling terminal (setsid)
        int fd = fcntl(m_console_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            return err(Errno::NXIO);
        auto console = make_ref<ConsoleInode>(host::Fd(fd));
        return console->open(flags);
    }
    const void* fs_id() const override { return &kDevfsDev; }

private:
    int m_console_fd;
    Timespec m_time;
};

// /dev/fd, /dev/stdin, ...: symlinks into /proc/self/fd.
class DevLink final : public Inode {
public:
    DevLink(u64 ino, std::string target) : m_ino(ino), m_target(std::move(target)), m_time(now_realtime()) {}
    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = kDevfsDev;
        a.ino = m_ino;
        a.mode = S_IFLNK | 0777;
        a.size = static_cast<i64>(m_target.size());
        a.atime = a.mtime = a.ctime = m_time;
        return a;
    }
    KResult<std::string> readlink() override { return m_target; }
    KResult<RefPtr<File>> open(int) override { return err(Errno::LOOP); }
    const void* fs_id() const override { return &kDevfsDev; }

private:
    u64 m_ino;
    std::string m_target;
    Timespec m_time;
};

} // namespace

KResult<InodeAttr> StaticDir::attr()
{
    InodeAttr a;
    a.dev = m_dev;
    a.ino = m_ino;
    a.mode = m_mode;
    a.nlink = 2;
    a.size = 0;
    if (m_attr_hook)
        m_attr_hook(a);
    return a;
}

KResult<RefPtr<Inode>> StaticDir::lookup(std::string_view name)
{
    auto it = m_entries.find(name);
    if (it == m_entries.end())
        return err(Errno::NOENT);
    return it->second;
}

KResult<std::vector<DirEntry>> StaticDir::list()
{
    std::vector<DirEntry> out;
    for (auto& [name, inode] : m_entries) {
        auto a = inode->attr();
        out.push_back({ name, a ? a->ino : 0, a ? dirent_type(a->mode) : u8 { 0 } });
    }
    return out;
}

KResult<RefPtr<File>> StaticDir::open(int flags) { return RefPtr<File>(new DirectoryFile(RefPtr<Inode>(this), flags)); }

namespace {

// The devices by number, for device nodes outside /dev. Set once at boot.
std::map<u64, RefPtr<Inode>> g_devices;

} // namespace

KResult<RefPtr<File>> open_device(u64 rdev, bool block, int flags)
{
    if (!block && major(rdev) == 136)
        return open_pts_device(minor(rdev), flags);
    auto it = g_devices.find(rdev);
    if (block || it == g_devices.end())
        return err(Errno::NXIO);
    return it->second->open(flags);
}

bool is_devfs(const Inode& inode) { return inode.fs_id() == &kDevfsDev; }

RefPtr<Inode> make_devfs(int console_fd)
{
    auto dir = make_ref<StaticDir>(kDevfsDev, 1);
    dir->add("null", make_ref<DeviceInode>(2, 1, 3, 0666, Device::Null));
    dir->add("zero", make_ref<DeviceInode>(3, 1, 5, 0666, Device::Zero));
    dir->add("full", make_ref<DeviceInode>(4, 1, 7, 0666, Device::Full));
    dir->add("random", make_ref<DeviceInode>(5, 1, 8, 0666, Device::Random));
    dir->add("urandom", make_ref<DeviceInode>(6, 1, 9, 0666, Device::Urandom));
    dir->add("tty", make_ref<TtyInode>(console_fd));
    dir->add("shm", make_ref<StaticDir>(kDevfsDev, 7)); // a tmpfs is mounted here
    dir->add("pts", make_ref<StaticDir>(kDevfsDev, 12)); // devpts is mounted here
    dir->add("ptmx", make_ptmx_inode(kDevfsDev, 13));
    dir->add("fd", make_ref<DevLink>(8, "/proc/self/fd"));
    dir->add("stdin", make_ref<DevLink>(9, "/proc/self/fd/0"));
    dir->add("stdout", make_ref<DevLink>(10, "/proc/self/fd/1"));
    dir->add("stderr", make_ref<DevLink>(11, "/proc/self/fd/2"));
    for (const char* name : { "null", "zero", "full", "random", "urandom", "tty", "ptmx" }) {
        auto inode = *dir->lookup(name);
        g_devices.emplace(inode->attr()->rdev, inode);
    }
    return RefPtr<Inode>(dir);
}

} // namespace umk::kernel
