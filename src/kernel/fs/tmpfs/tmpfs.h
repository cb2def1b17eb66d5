#pragma once

// tmpfs: files in memory, each regular file a host memfd so that guest
// mmap(MAP_SHARED) works across processes. Also the in-memory upper layer
// of the guest's root (overlay), which needs whiteouts and opaque dirs.

#include "host/fd.h"
#include "kernel/vfs/file.h"
#include "kernel/vfs/upper_inode.h"

#include <map>

namespace umk::kernel {

class Tmpfs;

class TmpfsInode final : public UpperInode {
public:
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
    std::optional<FsStats> statfs() override;
    const void* fs_id() const override { return &m_fs; }
    KResult<std::vector<u8>> get_xattr(std::string_view name) override;
    KResult<void> set_xattr(std::string_view name, std::span<const u8> value, int flags) override;
    KResult<void> remove_xattr(std::string_view name) override;
    KResult<std::vector<std::string>> list_xattrs() override;

    bool has_whiteout(std::string_view name) override;
    KResult<void> add_whiteout(std::string_view name) override;
    KResult<void> remove_whiteout(std::string_view name) override;
    bool opaque() override;
    KResult<void> set_opaque() override;
    // A regular file's memfd.
    int memfd() const { return m_memfd.get(); }

private:
    friend class Tmpfs;
    TmpfsInode(Tmpfs& fs, u32 mode, u32 uid, u32 gid);
    KResult<RefPtr<TmpfsInode>> add_entry(std::string_view name, RefPtr<TmpfsInode> inode);
    void touch_locked();
    // This directory's lock and `other`'s (once if the same), in address order.
    std::pair<std::unique_lock<std::mutex>, std::unique_lock<std::mutex>> lock_pair(TmpfsInode& other);

    Tmpfs& m_fs;
    std::mutex m_lock;
    InodeAttr m_attr;
    host::Fd m_memfd;                          // regular files
    std::string m_target;                      // symlinks
    std::map<std::string, std::vector<u8>, std::less<>> m_xattrs;
    std::map<std::string, RefPtr<TmpfsInode>, std::less<>> m_entries; // directories
    std::map<std::string, bool, std::less<>> m_whiteouts;
    bool m_opaque { false };
    bool m_linkable { false }; // an O_TMPFILE file without a name yet (Linux's I_LINKABLE)
};

// One tmpfs instance. Lives as long as the kernel.
class Tmpfs {
public:
    Tmpfs();
    RefPtr<TmpfsInode> root() { return m_root; }
    // `memfd_flags`: the host memfd's (MFD_ALLOW_SEALING, ...), for memfd_create(2).
    KResult<RefPtr<TmpfsInode>> new_inode(u32 mode, u32 uid, u32 gid, unsigned memfd_flags = 0);
    u64 dev() const { return m_dev; }

private:
    friend class TmpfsInode;
    std::atomic<u64> m_next_ino { 1 };
    u64 m_dev;
    RefPtr<TmpfsInode> m_root;
};

} // namespace umk::kernel
