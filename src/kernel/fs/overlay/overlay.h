#pragma once

// The guest root's copy-on-write: a read-only lower tree (host mounts,
// each a HostInode root at its path) under a writable upper layer: tmpfs
// in memory, or a host directory (--upper DIR) kept in Linux overlayfs's
// userxattr format. Copy-up on the first change; whiteouts and opaque
// directories as in Linux's overlayfs. Renaming a directory that exists
// in the lower layer gives EXDEV, as overlayfs without redirect_dir does
// (mv then copies).

#include "kernel/fs/tmpfs/tmpfs.h"

#include <map>

namespace umk::kernel {

class OverlayInode;

class OverlayFs {
public:
    // `lower_mounts` maps paths relative to the lower root ("" is the root,
    // "usr" the /usr mount) to the host mount roots.
    // `upper`: the upper layer's root directory; null for one in memory.
    OverlayFs(std::map<std::string, RefPtr<Inode>> lower_mounts, RefPtr<UpperInode> upper);
    RefPtr<OverlayInode> root() { return m_root; }

private:
    friend class OverlayInode;
    Tmpfs m_memory_upper;
    std::map<std::string, RefPtr<Inode>> m_lower_mounts;
    RefPtr<OverlayInode> m_root;
};

class OverlayInode final : public Inode {
public:
    OverlayInode(OverlayFs& fs, RefPtr<OverlayInode> parent, std::string name, RefPtr<Inode> lower,
                 RefPtr<UpperInode> upper);

    KResult<InodeAttr> attr() override;
    KResult<RefPtr<Inode>> lookup(std::string_view name) override;
    KResult<std::vector<DirEntry>> list() override;
    KResult<RefPtr<Inode>> create(std::string_view name, u32 mode, u32 uid, u32 gid) override;
    KResult<RefPtr<Inode>> mkdir(std::string_view name, u32 mode, u32 uid, u32 gid) override;
    KResult<RefPtr<Inode>> symlink(std::string_view name, std::string_view target, u32 uid, u32 gid) override;
    KResult<RefPtr<Inode>> mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid) override;
    KResult<RefPtr<Inode>> make_tmpfile(u32 mode, u32 uid, u32 gid, bool linkable) override;
    KResult<void> unlink(std::string_view name) override;
    KResult<void> rmdir(std::string_view name) override;
    KResult<void> rename(std::string_view name, Inode& new_dir, std::string_view new_name) override;
    KResult<void> exchange(std::string_view name, Inode& other_dir, std::string_view other_name) override;
    KResult<void> link(Inode& target, std::string_view name) override;
    KResult<std::string> readlink() override;
    KResult<void> chmod(u32 mode) override;
    KResult<void> chown(u32 uid, u32 gid) override;
    KResult<void> truncate(u64 length) override;
    KResult<void> set_times(std::optional<Timespec> atime, std::optional<Timespec> mtime) override;
    KResult<RefPtr<File>> open(int flags) override;
    const void* fs_id() const override { return &m_fs; }
    // The layer's file it shows: the upper one once copied up.
    FileKey file_key() override;
    // Its lower file went stale (hostfs) and nothing was copied up.
    bool stale() const override;
    KResult<std::vector<u8>> get_xattr(std::string_view name) override;
    KResult<void> set_xattr(std::string_view name, std::span<const u8> value, int flags) override;
    KResult<void> remove_xattr(std::string_view name) override;
    KResult<std::vector<std::string>> list_xattrs() override;

private:
    KResult<RefPtr<UpperInode>> copy_up();
    RefPtr<UpperInode> upper();
    std::string lower_path() const;
    // The root of the lower layer's host mount at `name`, if one is there.
    RefPtr<Inode> lower_mount(std::string_view name) const;
    // The entry `name` exists in the lower layer and is not hidden.
    KResult<bool> lower_has(std::string_view name);
    template <class Make>
    KResult<RefPtr<Inode>> create_with(std::string_view name, Make make);

    OverlayFs& m_fs;
    RefPtr<OverlayInode> m_parent;
    std::string m_name;
    RefPtr<Inode> m_lower;
    // A host mount of the lower layer lies below this directory: lookups
    // check for one (most of the tree has none, and skips building the path).
    bool m_mounts_below { false };
    std::mutex m_lock; // held through a copy-up
    // Set once (made, or copied up) and kept for the inode's life: read
    // without the lock (upper), through m_upper_now.
    RefPtr<UpperInode> m_upper;
    std::atomic<UpperInode*> m_upper_now { nullptr };
};

} // namespace umk::kernel
