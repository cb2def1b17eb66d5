#pragma once

// inotify(7) for changes made inside the guest: the VFS syscalls report
// what they did (fsnotify), and each inotify instance queues the events
// its watches ask for. Linux: fs/notify/inotify/, fs/notify/fsnotify.c.
// Changes made on the host under a lower layer are not seen.

#include "kernel/vfs/dentry.h"
#include "kernel/vfs/file.h"

namespace umk::kernel {

class Thread;

// Whether any watch exists (then the VFS calls below do anything).
bool fsnotify_active();
// An event about `inode`: its own watches get it without a name; the
// watches of `parent` (its directory, when known) with `name`. IN_ISDIR
// is added for directories. Linux's fsnotify_parent + fsnotify.
void fsnotify(Inode& inode, Dentry* parent, std::string_view name, u32 mask, u32 cookie = 0);
// The same for a dentry (its parent and name).
void fsnotify_dentry(Dentry& dentry, u32 mask);
// A directory event about its entry `name` (IN_CREATE, IN_DELETE,
// IN_MOVED_FROM/TO): to the directory's own watches, with the name.
void fsnotify_dir(Dentry& dir, std::string_view name, u32 mask, u32 cookie = 0);
// For a rename's MOVED_FROM/MOVED_TO pair.
u32 fsnotify_cookie();

RefPtr<File> make_inotify(int flags);
// inotify_add_watch (the caller resolved the path and checked it may
// read it): the watch descriptor.
KResult<int> inotify_add_watch(File& file, Inode& inode, u32 mask);
KResult<void> inotify_rm_watch(File& file, int wd);

} // namespace umk::kernel
