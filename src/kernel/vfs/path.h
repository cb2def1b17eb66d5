#pragma once

// Path walk (Linux's fs/namei.c): components, `.` and `..` (also across
// mount points, never above the process root), symlinks (ELOOP after
// 40), search permission on every directory.

#include "kernel/task/credentials.h"
#include "kernel/vfs/dentry.h"

namespace umk::kernel {

inline constexpr usize kPathMax = 4096;
inline constexpr usize kNameMax = 255;
inline constexpr int kMaxSymlinks = 40;

// MAY_* access bits, as in Linux.
enum : int { kMayExec = 1, kMayWrite = 2, kMayRead = 4 };

KResult<void> check_access(const InodeAttr&, const Credentials&, int may);
// The same for `inode`, whose attributes are `attr`: also what it lets
// the caller do whatever its mode (Inode::open_to_caller).
KResult<void> check_access(const Inode& inode, const InodeAttr& attr, const Credentials&, int may);

// openat2(2)'s RESOLVE_* flags (linux/openat2.h).
enum : u64 {
    kResolveNoXdev = 0x01,
    kResolveNoMagiclinks = 0x02,
    kResolveNoSymlinks = 0x04,
    kResolveBeneath = 0x08,
    kResolveInRoot = 0x10,
    kResolveCached = 0x20,
};

struct PathContext {
    RefPtr<Dentry> root;  // the process root (chroot); the start's with RESOLVE_IN_ROOT
    RefPtr<Dentry> start; // cwd, or a dirfd's directory, for relative paths
    Credentials creds;
    u64 resolve { 0 };    // kResolve*: EXDEV or ELOOP where the walk would leave its scope
};

enum class Follow { No, Yes };

KResult<RefPtr<Dentry>> resolve_path(const PathContext&, std::string_view path, Follow follow_last);

// For calls that create or remove the last component: its parent
// directory (resolved), the last name, and whether a slash followed it.
struct ParentAndName {
    RefPtr<Dentry> parent;
    std::string name; // "." or ".." when the path ends in one of them
    bool trailing_slash { false };
};
KResult<ParentAndName> resolve_parent(const PathContext&, std::string_view path);

// Follows mounts stacked on `d`.
RefPtr<Dentry> follow_mounts(RefPtr<Dentry> d);

} // namespace umk::kernel
