#pragma once

// Host file operations for the file systems that sit on host files
// (hostfs lower layers, memfd-backed tmpfs). Every path lookup here is
// confined: openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV from a directory fd, one component at a time.

#include "host/fd.h"
#include "lib/kresult.h"
#include "lib/types.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

struct stat;

namespace umk::host {

// One path component (no '/', not ".."; "." names dirfd itself), confined below `dirfd`.
// `flags` are host O_* flags; O_NOFOLLOW and O_CLOEXEC are added.
KResult<Fd> open_beneath(int dirfd, const std::string& name, int flags);
KResult<Fd> open_path(const char* absolute_path); // O_PATH|O_DIRECTORY, setup only

struct HostStat {
    u64 dev, ino, rdev;
    u32 mode, uid, gid;
    u64 nlink;
    i64 size, blksize, blocks;
    i64 atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
    bool has_btime;
    i64 btime_sec, btime_nsec;
};
KResult<HostStat> stat_fd(int fd);
// The attributes of one name in `dirfd` (a component as open_beneath
// takes, "." refused), without following a symlink or opening anything:
// EXDEV for a mount point, as open_beneath gives; ENOSYS where the host
// cannot tell mount points (before Linux 5.8).
KResult<HostStat> stat_beneath(int dirfd, const std::string& name);
KResult<std::string> readlink_fd(int fd);

// Refuses pseudo file systems (proc, sysfs, devpts, ...): EACCES. `dev`
// is fd's st_dev: a block device's file system, once allowed, is not
// asked again (an anonymous device number may be reused by another
// kind of file system, so those always are).
KResult<void> check_fs_allowed(int fd, u64 dev);

struct HostDirEntry {
    std::string name;
    u64 ino;
    u8 type;
};
KResult<std::vector<HostDirEntry>> read_dir(int dirfd);

KResult<usize> pread(int fd, std::span<u8> out, u64 offset);
KResult<usize> pwrite(int fd, std::span<const u8> data, u64 offset);
// poll(2) of one fd, without waiting: the POLL* events of `wanted` (and
// POLLERR/POLLHUP) that hold, POLLRDNORM/POLLWRNORM with POLLIN/POLLOUT.
u32 poll_now(int fd, short wanted);
KResult<usize> read(int fd, std::span<u8> out);
KResult<usize> write(int fd, std::span<const u8> data);
KResult<void> ftruncate(int fd, u64 length);
// How many `page`-sized pages of [offset, offset + length) a write would
// newly allocate in a sparse file (its holes, and all past its end), and
// where the part that fits in `room` new pages ends.
struct NewPages {
    u64 pages;
    u64 fits_until;
};
KResult<NewPages> unallocated_pages(int fd, u64 offset, u64 length, u64 page, u64 room);
// memfd_create with MFD_CLOEXEC and `flags` (MFD_ALLOW_SEALING, ...).
KResult<Fd> memfd(const char* name, unsigned flags = 0);
// The kernel's /proc, kept open, once, before its root goes away: a proc
// of its own pid namespace (mounted over /proc in its mount namespace)
// when it can, else the one it finds.
KResult<void> open_proc(bool own_pid_namespace);
// That /proc (O_PATH), opened now if it was not.
KResult<int> proc_fd();
// A new open file description of `fd`'s file, with host O_* `flags`
// (O_CLOEXEC added), through /proc/self/fd.
KResult<Fd> reopen(int fd, int flags);
// fgetxattr/flistxattr, whole.
KResult<std::vector<u8>> get_xattr(int fd, const std::string& name);
KResult<std::vector<std::string>> list_xattrs(int fd);
KResult<void> set_xattr(int fd, const std::string& name, std::span<const u8> value, int flags);
KResult<void> remove_xattr(int fd, const std::string& name);

// Changes inside a writable host directory (hostfs volumes). `dirfd` and
// `fd` are O_PATH fds the caller holds; `name` is one checked component
// (as for open_beneath); nothing follows a symlink.
KResult<void> make_node(int dirfd, const std::string& name, u32 mode); // S_IFREG, S_IFIFO, S_IFSOCK
// An overlayfs whiteout: a 0/0 character device (no privilege needed).
KResult<void> make_whiteout(int dirfd, const std::string& name);
// `name` in `dirfd` is one (not following a symlink).
bool is_whiteout(int dirfd, const std::string& name);
KResult<void> make_dir(int dirfd, const std::string& name, u32 mode);
KResult<void> make_symlink(int dirfd, const std::string& name, const std::string& target);
KResult<void> remove(int dirfd, const std::string& name, bool directory);
// renameat2 (`flags`: RENAME_EXCHANGE, ...).
KResult<void> rename(int dirfd, const std::string& name, int new_dirfd, const std::string& new_name, unsigned flags = 0);
// A new name in `dirfd` for the file `fd` holds (through /proc/self/fd;
// not for symlinks, see link_at).
KResult<void> link(int fd, int dirfd, const std::string& name);
KResult<void> link_at(int dirfd, const std::string& name, int new_dirfd, const std::string& new_name);
// On the file `fd` holds itself (AT_EMPTY_PATH).
KResult<void> chmod(int fd, u32 mode);
KResult<void> chown(int fd, u32 uid, u32 gid);
// nullopt leaves a time as it is (UTIME_OMIT).
struct TimeValue {
    i64 sec, nsec;
};
// Of the file `fd` holds (not a symlink: see set_times_at).
KResult<void> set_times(int fd, std::optional<TimeValue> atime, std::optional<TimeValue> mtime);
KResult<void> set_times_at(int dirfd, const std::string& name, std::optional<TimeValue> atime,
                           std::optional<TimeValue> mtime);

// The CPU time host thread `tid` of process `pid` (pids as the kernel
// sees them) has used, in ns (its schedstat), when /proc shows them.
std::optional<u64> thread_cpu_ns(int pid, int tid);
// A file of the kernel's /proc ("loadavg", "123/statm"), whole; errors
// when /proc does not show our pids and the name starts with one.
KResult<std::string> read_proc_file(const std::string& name);
// The start of a host-wide /proc file ("stat") in `out`, without a heap
// allocation (for threads that otherwise allocate nothing: a first
// allocation costs a thread its own malloc arena); its length.
KResult<usize> read_proc_prefix(const char* name, std::span<char> out);
// Host thread `tid` belongs to process `pid` (false when the host's
// /proc cannot tell).
bool thread_of(int pid, int tid);
// Copies all of `from` into `to` (a fresh memfd) in the host.
KResult<void> copy_file(int from, int to);

} // namespace umk::host
