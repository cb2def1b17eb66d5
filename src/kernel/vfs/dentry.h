#pragma once

// The name cache and the mount tree. A Dentry names an inode at one place
// of the tree; its children are cached for the life of the kernel (a
// guest machine), removed by unlink/rename. A mount covers a Dentry with
// the root Dentry of another file system.
//
// Lifetime: a child holds its parent (RefPtr); a parent holds its cached
// children; a mountpoint holds the mounted root, which points back at it
// and keeps it alive (a mount undone by umount2 still names where it was).

#include "kernel/vfs/inode.h"

#include <atomic>
#include <map>
#include <sys/mount.h>

namespace umk::kernel {

// What a mount keeps of mount(2)'s flags (Linux's MNT_* of a vfsmount).
// MS_STRICTATIME is the absence of MS_NOATIME and MS_RELATIME. MS_RDONLY
// is this mount's read-only flag (MNT_READONLY); kSuperReadOnly, kept on
// every mount of a file system alike, the file system's (SB_RDONLY): a
// mount is read-only with either.
inline constexpr u32 kSuperReadOnly = 1U << 31;
inline constexpr u32 kMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME
    | MS_RELATIME | kSuperReadOnly;
// Two inode objects for one file (hostfs makes one per lookup): the same
// device, inode number and type.
bool same_file(Inode& a, Inode& b);
// "rw,nosuid,relatime": the flags as /proc/PID/mounts shows them.
std::string mount_options_text(u32 flags);

class Dentry : public RefCounted {
public:
    static RefPtr<Dentry> make_root(RefPtr<Inode> inode, std::string name = "/");
    // An inode outside any tree (a pipe, a socket), reached through a
    // magic link (/proc/PID/fd/N); its path() is `name` ("pipe:[5]").
    static RefPtr<Dentry> make_detached(RefPtr<Inode> inode, std::string name);

    const std::string& name() const { return m_name; }
    RefPtr<Dentry> parent() const { return m_parent; }
    Inode& inode() const { return *m_inode; }
    RefPtr<Inode> inode_ref() const { return m_inode; }

    // Cached lookup of a child in this directory (no mount crossing).
    KResult<RefPtr<Dentry>> child(std::string_view name);
    // After the file system created or removed `name`.
    RefPtr<Dentry> add_child(std::string_view name, RefPtr<Inode> inode);
    // The name was removed or moved: its dentry leaves the cache, with
    // everything cached below it (unhash).
    void forget_child(std::string_view name);

    RefPtr<Dentry> mounted() const;
    void mount(RefPtr<Dentry> root);
    // umount: the mount on this dentry goes (files open under it keep it).
    void unmount();
    // pivot_root: this mount's root leaves its mount point and becomes the
    // top of the tree.
    void make_top();
    Dentry* mountpoint() const { return m_mountpoint; }
    // The per-mount flags of the mount this dentry is the root of, as
    // MS_* bits (kMountFlags: ro, nosuid, nodev, noexec, atime); every
    // dentry below asks its mount's root. A read-only mount refuses
    // changes (EROFS).
    void set_mount_flags(u32 flags) { m_mount_flags = flags & kMountFlags; }
    u32 mount_flags() const { return mount_root()->m_mount_flags.load(); }
    bool on_read_only_mount() const { return mount_flags() & (MS_RDONLY | kSuperReadOnly); }
    // Out of the name cache (renamed, removed, below a bind mount's
    // source): nothing can be mounted on it, a path walk would not find it.
    bool unhashed() const
    {
        std::lock_guard lock(m_lock);
        return m_unhashed;
    }
    // The root dentry of the mount this dentry is in.
    const Dentry* mount_root() const;
    // A mount is stacked somewhere below this dentry (among the cached ones).
    bool has_submounts() const;

    // A bind mount's root: a new root dentry for `source`'s inode. Every
    // tree of that file system checks each cached name with it from now
    // on (two trees name the same inodes: none may trust names another
    // changed); a cached dentry stays while its name still leads to the
    // same file, and so do the mounts on it.
    static RefPtr<Dentry> make_bind_root(const RefPtr<Dentry>& source, std::string name);
    // A bind mount has shown this file system (its fs_id()) in a second
    // tree: names and mount points must be checked across trees.
    static bool fs_aliased(const void* fs_id);
    // The cached children (mount points among them), for copying mounts.
    std::vector<std::pair<std::string, RefPtr<Dentry>>> cached_children() const;

    // Cache pressure: a file system whose cached inodes hold host
    // resources (hostfs: an O_PATH fd each) asks for the cache to shrink;
    // the next path walk drops every cached dentry below the global root
    // that nothing but the cache holds (its inode neither).
    static void request_prune();
    static void prune_if_requested(const Dentry& any);

    // The absolute path in the guest's tree, following mounts up; with
    // " (deleted)" once its name was removed (d_path).
    std::string path() const;
    // The path as a process with root `root` sees it (chroot); outside
    // that root, "(unreachable)" and the full path, as Linux's getcwd.
    std::string path_within(const Dentry* root) const;
    void mark_deleted() { m_deleted = true; }
    bool deleted() const { return m_deleted; }
    bool detached() const { return m_detached; }

private:
    // add_child, or with `keep_cached` (a lookup's result) the child that
    // another thread's lookup cached meanwhile, so that one name has one
    // inode: two overlay inodes of one file would each copy it up.
    RefPtr<Dentry> insert_child(std::string_view name, RefPtr<Inode> inode, bool keep_cached);
    // Out of the cache for good: it and the dentries cached below it let
    // go of each other (a child holds its parent, a parent its cached
    // children: kept, they would keep each other and their inodes alive),
    // and it caches no children from now on.
    void unhash();
    // Drops the idle cached dentries below this one (mounts included).
    void prune_idle();

    Dentry(std::string name, RefPtr<Dentry> parent, RefPtr<Inode> inode)
        : m_name(std::move(name)), m_parent(std::move(parent)), m_inode(std::move(inode)) {}

    std::string m_name;
    RefPtr<Dentry> m_parent;
    RefPtr<Inode> m_inode;
    mutable std::mutex m_lock;
    std::map<std::string, RefPtr<Dentry>, std::less<>> m_children;
    RefPtr<Dentry> m_mounted;
    // m_mounted is set: path walks read this, and take the lock only then.
    std::atomic<bool> m_has_mounted { false };
    Dentry* m_mountpoint { nullptr }; // set once; m_mountpoint_ref keeps it
    RefPtr<Dentry> m_mountpoint_ref;
    bool m_detached { false };
    bool m_unhashed { false }; // under m_lock
    std::atomic<bool> m_deleted { false };
    std::atomic<u32> m_mount_flags { MS_RELATIME }; // a mount root's
};

} // namespace umk::kernel
