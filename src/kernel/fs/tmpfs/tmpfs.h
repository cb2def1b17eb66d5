#pragma once

// tmpfs: files in memory, each regular file a host memfd so that guest
// mmap(MAP_SHARED) works across processes. Also the in-memory upper layer
// of the guest's root (overlay), which needs whiteouts and opaque dirs.

#include "host/fd.h"
#include "kernel/vfs/file.h"
#include "kernel/vfs/upper_inode.h"

#include <map>
#include <memory>

namespace umk::kernel {

class Tmpfs;

// What a tmpfs holds against its size= and nr_inodes= limits (0: none).
// Shared with its inodes, which may outlive it.
struct TmpfsUsage {
    u64 max_pages { 0 };
    u64 max_inodes { 0 };
    std::atomic<u64> pages { 0 };
    std::atomic<u64> inodes { 0 };
};

class TmpfsInode final : public UpperInode {
public:
    ~TmpfsInode() override;
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
    // Data through an open file's host fd on the memfd, within the file
    // system's size= limit (ENOSPC, or a short write, past it).
    KResult<usize> write_data(int fd, std::span<const u8> data, u64 pos);
    KResult<void> allocate(int fd, int mode, u64 offset, u64 length);

private:
    friend class Tmpfs;
    TmpfsInode(Tmpfs& fs, u32 mode, u32 uid, u32 gid);
    KResult<RefPtr<TmpfsInode>> add_entry(std::string_view name, RefPtr<TmpfsInode> inode);
    void touch_locked();
    // The pages the memfd holds now, charged to the file system.
    void recharge_locked();
    // This directory's lock and `other`'s (once if the same), in address order.
    std::pair<std::unique_lock<std::mutex>, std::unique_lock<std::mutex>> lock_pair(TmpfsInode& other);
    // `dir` is this directory or below it (under the rename lock).
    bool is_ancestor_of(const TmpfsInode* dir) const;

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
    // A directory's parent while it has a name (under the fs's rename
    // lock): a directory never moves below itself.
    TmpfsInode* m_dir_parent { nullptr };
    u64 m_charged_pages { 0 };
    std::shared_ptr<TmpfsUsage> m_usage;
};

// An open regular tmpfs file: its own host fd on the inode's memfd.
class TmpfsFile final : public File {
public:
    TmpfsFile(RefPtr<Inode> inode, int flags, host::Fd fd) : File(std::move(inode), flags), m_fd(std::move(fd)) {}
    KResult<usize> read(std::span<u8> out, u64 pos) override;
    KResult<usize> write(std::span<const u8> data, u64 pos) override;
    int host_fd() const override { return m_fd.get(); }
    bool reads_host_fd() const override { return true; }

private:
    host::Fd m_fd;
};

// One tmpfs instance. Lives as long as the kernel.
class Tmpfs {
public:
    Tmpfs();
    RefPtr<TmpfsInode> root() { return m_root; }
    // `memfd_flags`: the host memfd's (MFD_ALLOW_SEALING, ...), for memfd_create(2).
    KResult<RefPtr<TmpfsInode>> new_inode(u32 mode, u32 uid, u32 gid, unsigned memfd_flags = 0);
    u64 dev() const { return m_dev; }

    // mount -o size=,nr_inodes= (0: none). Pages written into a shared
    // mapping count from the next write, truncate or fallocate of the file.
    void set_limits(u64 max_pages, u64 max_inodes);

private:
    friend class TmpfsInode;
    std::shared_ptr<TmpfsUsage> m_usage { std::make_shared<TmpfsUsage>() };
    std::atomic<u64> m_next_ino { 1 };
    u64 m_dev;
    RefPtr<TmpfsInode> m_root;
    // Directories' parents change under it (Linux's s_vfs_rename_mutex);
    // before any inode's lock.
    std::mutex m_rename_lock;
};

} // namespace umk::kernel
