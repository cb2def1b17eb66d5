#pragma once

// File locks, kept by umk (host locks taken by the kernel process would
// never conflict between guest processes): flock(2) locks, owned by open
// file descriptions; POSIX record locks (F_SETLK/F_SETLKW), owned by fd
// tables (Linux's current->files) and dropped when their owner closes any
// fd of the file; OFD locks (F_OFD_*), owned by open file descriptions
// and conflicting with POSIX ones. Linux: fs/locks.c.

#include "kernel/vfs/file.h"

#include <limits>

namespace umk::kernel {

class Thread;

// The last byte a lock can cover (Linux's OFFSET_MAX): a lock "to the end
// of the file" ends here, as does one whose range reaches the largest offset.
inline constexpr u64 kLockEnd = static_cast<u64>(std::numeric_limits<i64>::max());

struct RecordLock {
    short type;     // F_RDLCK, F_WRLCK (F_UNLCK: none, for F_GETLK)
    u64 start, end; // inclusive
    int pid;        // F_GETLK's l_pid: the setter's, -1 for OFD locks
};

// flock(2): LOCK_SH, LOCK_EX or LOCK_UN, with LOCK_NB.
KResult<void> flock_file(Thread& t, File& file, int operation);
// F_SETLK/F_SETLKW (`ofd` false, owner = the fd table) and the F_OFD_
// ones (owner = the open file description). An F_UNLCK `lock` unlocks.
KResult<void> set_record_lock(Thread& t, File& file, const void* owner, bool ofd, const RecordLock& lock, bool wait);
// F_GETLK: the first lock of another owner that would block `lock`.
KResult<std::optional<RecordLock>> get_record_lock(File& file, const void* owner, const RecordLock& lock);
// An fd table closed an fd of `file`: its POSIX locks on the file go.
void release_posix_locks(const void* fd_table, File& file);
// An open file description's last reference went (~File).
void release_file_locks(File& file);

} // namespace umk::kernel
