#pragma once

// Inodes and open file descriptions. Analogous to Linux's struct inode and
// struct file; each file system (kernel/fs/) subclasses them.
//
// Lock order: Dentry::m_lock (parent before child), then an inode's own
// lock, then an open file's lock. Nothing here blocks on the guest while
// holding a lock.

#include "lib/kresult.h"
#include "lib/ref.h"
#include "lib/types.h"

#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace umk::kernel {

class Thread;
class File;
class Dentry;

struct Timespec {
    i64 sec { 0 };
    i64 nsec { 0 };
};

// CLOCK_REALTIME now, for inode times.
Timespec now_realtime();

// What stat(2) and statx(2) report, file-system independent.
struct InodeAttr {
    u64 dev { 0 };
    u64 ino { 0 };
    u32 mode { 0 }; // type and permission bits
    u64 nlink { 1 };
    u32 uid { 0 };
    u32 gid { 0 };
    u64 rdev { 0 };
    i64 size { 0 };
    i64 blksize { 4096 };
    i64 blocks { 0 };
    Timespec atime, mtime, ctime;
    std::optional<Timespec> btime;
};

// What statfs(2) reports of a file system.
struct FsStats {
    i64 type { 0 }; // *_SUPER_MAGIC
    i64 bsize { 4096 };
    u64 blocks { 0 }, bfree { 0 }, bavail { 0 }, files { 0 }, ffree { 0 };
    i64 namelen { 255 };
};

struct DirEntry {
    std::string name;
    u64 ino { 0 };
    u8 type { 0 }; // DT_*
};

// The file type bits of a mode as a DT_* value.
u8 dirent_type(u32 mode);
// Whether a listing names anything but "." and "..".
bool has_entries(const std::vector<DirEntry>&);

class Inode : public RefCounted {
public:
    virtual KResult<InodeAttr> attr() = 0;

    // Directory operations. The defaults are what a non-directory says.
    // list() gives the entries in the file system's own order; host
    // directories include "." and ".." where the host has them (getdents
    // adds them first where a listing lacks them).
    virtual KResult<RefPtr<Inode>> lookup(std::string_view name);
    virtual KResult<std::vector<DirEntry>> list();
    virtual KResult<RefPtr<Inode>> create(std::string_view name, u32 mode, u32 uid, u32 gid);
    virtual KResult<RefPtr<Inode>> mkdir(std::string_view name, u32 mode, u32 uid, u32 gid);
    virtual KResult<RefPtr<Inode>> symlink(std::string_view name, std::string_view target, u32 uid, u32 gid);
    // mknod(2): `mode` has the type (regular, FIFO, socket, character or
    // block device); `rdev` the device's number. The default makes what
    // create() makes and refuses device nodes.
    virtual KResult<RefPtr<Inode>> mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid);
    // open(O_TMPFILE): a regular file with no name in this directory's
    // file system; `linkable` (no O_EXCL): linkat may give it one.
    // EOPNOTSUPP where the file system has none.
    virtual KResult<RefPtr<Inode>> make_tmpfile(u32 mode, u32 uid, u32 gid, bool linkable);
    virtual KResult<void> unlink(std::string_view name);
    virtual KResult<void> rmdir(std::string_view name);
    // Moves `name` of this directory to `new_name` of `new_dir`, which is
    // on the same file system (the caller checked).
    virtual KResult<void> rename(std::string_view name, Inode& new_dir, std::string_view new_name);
    // renameat2(RENAME_EXCHANGE): `name` here and `other_name` in
    // `other_dir` (same file system, both exist) swap. EINVAL where the
    // file system cannot.
    virtual KResult<void> exchange(std::string_view name, Inode& other_dir, std::string_view other_name);
    virtual KResult<void> link(Inode& target, std::string_view name);

    virtual KResult<std::string> readlink();
    // A magic link (/proc/PID/fd/N, cwd, root, exe): the dentry the path
    // walk goes on from, whatever readlink() says (Linux's nd_jump_link);
    // null for an ordinary symlink.
    virtual KResult<RefPtr<Dentry>> jump();
    virtual KResult<void> chmod(u32 mode);
    virtual KResult<void> chown(u32 uid, u32 gid);
    virtual KResult<void> truncate(u64 length);
    virtual KResult<void> set_times(std::optional<Timespec> atime, std::optional<Timespec> mtime);

    // Extended attributes (xattr(7)), after the syscall layer's checks:
    // file systems without them say EOPNOTSUPP and list none. `flags`:
    // XATTR_CREATE, XATTR_REPLACE.
    virtual KResult<std::vector<u8>> get_xattr(std::string_view name);
    virtual KResult<void> set_xattr(std::string_view name, std::span<const u8> value, int flags);
    virtual KResult<void> remove_xattr(std::string_view name);
    virtual KResult<std::vector<std::string>> list_xattrs();

    // Opens an open file description. `flags` are the guest's O_* flags
    // (the caller did permission and type checks).
    virtual KResult<RefPtr<File>> open(int flags) = 0;

    // statfs(2) of the file system; nullopt: the kernel's defaults for
    // its own trees (the type by device, the host's memory as the size).
    virtual std::optional<FsStats> statfs() { return std::nullopt; }

    // Names in this directory come and go without the VFS seeing it
    // (devpts): every path walk looks them up again instead of trusting
    // the dentry cache.
    virtual bool names_change_behind_cache() const { return false; }
    // The file this inode stood for is gone or replaced behind the cache
    // (hostfs's lower layer, found out when it was first opened): the
    // dentry cache looks the name up again.
    virtual bool stale() const { return false; }
    // Stale inodes this kernel thread has found so far: a call that
    // found one and failed with ESTALE runs again (Thread::handle_syscall),
    // as Linux retries a path walk with LOOKUP_REVAL.
    static u64 stale_found();
    // A host socket's file the guest may connect to (a volume mounted
    // with :sockets): its O_PATH fd, else -1 (kernel/ipc/host_socket.h).
    virtual int connectable_host_socket() const { return -1; }

    // Identifies the file system for rename/link EXDEV checks.
    virtual const void* fs_id() const = 0;
    // Whatever its mode says, the calling thread may use it (Linux's
    // proc_fd_permission: a process's own /proc/PID/fd).
    virtual bool open_to_caller() const { return false; }
    // Files on Linux's anonymous inode ("pidfd", "eventfd", ...): what
    // /proc/PID/fd shows as anon_inode:[NAME].
    virtual std::optional<std::string> anon_name() const { return std::nullopt; }

    bool is_dir();

    // The file it stands for, as ETXTBSY counts writers and runners:
    // every inode object of one file (hard links, a lookup after a
    // rename, a bind mount, an overlay over its layer) gives the same.
    struct FileKey {
        const void* fs;
        u64 dev, ino;
        auto operator<=>(const FileKey&) const = default;
    };
    virtual FileKey file_key() { return { this, 0, 0 }; }

protected:
    // Counts a stale inode found by this kernel thread (stale_found).
    static void found_stale();
};

// Linux's i_writecount, per file (Inode::file_key): writers count up,
// execs reading the file and processes running it count down, and either
// side finds the other with ETXTBSY. One count of sign `Delta`, given
// back when this goes.
template <int Delta>
class WriteCount {
public:
    // ETXTBSY where the count has the other sign.
    static KResult<WriteCount> take(Inode& inode);
    WriteCount() = default;
    WriteCount(WriteCount&& other) noexcept : m_key(std::exchange(other.m_key, std::nullopt)) {}
    WriteCount& operator=(WriteCount&& other) noexcept;
    ~WriteCount();

private:
    explicit WriteCount(Inode::FileKey key) : m_key(key) {}
    std::optional<Inode::FileKey> m_key;
};

// A writer: ETXTBSY while a process runs the file.
using WriteAccess = WriteCount<1>;
// Holds off writers while exec reads the file or a process runs it
// (Linux's deny_write_access/allow_write_access).
using WriteDenial = WriteCount<-1>;

} // namespace umk::kernel
