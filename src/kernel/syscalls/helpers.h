#pragma once

// Shared by the syscall family files: fd and path arguments, signal
// permissions, pidfds.

#include "kernel/syscalls/table.h"
#include "kernel/vfs/path.h"

namespace umk::kernel {

inline constexpr int kAtFdcwd = -100;
inline constexpr u64 kMaxRwCount = 0x7ffff000; // MAX_RW_COUNT

KResult<RefPtr<File>> get_file(Thread&, int fd);
// A path argument: PATH_MAX-bounded, EFAULT for bad pointers.
KResult<std::string> copy_path(Thread&, GuestAddr);
// The walk context for a *at() call: dirfd is AT_FDCWD or a directory fd.
KResult<PathContext> dir_context(Thread&, int dirfd);
// The same for `path` (Linux's path_init): an absolute path starts at the
// root whatever dirfd is, even an invalid one.
KResult<PathContext> path_context(Thread&, int dirfd, std::string_view path);
// Resolves `path` at `dirfd`; with `empty_path` an empty path names dirfd
// itself (AT_EMPTY_PATH).
KResult<RefPtr<Dentry>> lookup_at(Thread&, int dirfd, const std::string& path, Follow, bool empty_path);
KResult<u64> install_fd(Thread&, RefPtr<File>, bool cloexec);
// Linux's mnt_want_write: EROFS on a read-only mount (none: a file with
// no path, such as a pipe).
inline KResult<void> check_mount_writable(const Dentry* d)
{
    if (d && d->on_read_only_mount())
        return err(Errno::ROFS);
    return {};
}
// A name to create at `dirfd`: absent, in a directory we may write
// (namei.cpp); the new inode's group.
KResult<ParentAndName> parent_for_create(Thread&, int dirfd, const std::string& path);
u32 new_gid(Thread&, const ParentAndName&);
// Linux's check_kill_permission (signal.cpp).
bool may_signal(Thread&, Process& target, int signo);
// prctl's seccomp and no_new_privs options (seccomp.cpp).
KResult<u64> seccomp_prctl(Thread&, int option, u64 arg2, u64 arg3);
// A guest thread by tid, and its process (ESRCH).
struct TaskRef {
    RefPtr<Process> process;
    Thread* thread;
};
KResult<TaskRef> find_task(Thread&, int tid);
// The process a pidfd names (EBADF for other files; pidfd.cpp).
KResult<RefPtr<Process>> process_of_pidfd(Thread&, int fd);

} // namespace umk::kernel
