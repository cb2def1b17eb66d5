#pragma once

// ext4 (and ext2/ext3) disk images through libext2fs: `umk run --disk IMG`
// and `-v IMG:/mnt`. libext2fs is not thread-safe, so one lock per file
// system covers every call into it. It gives no host fd to map, so each
// open regular file has a page cache: a host memfd holding the file's
// data, filled at the first open, written back (only the parts that
// differ) at the last close, fsync and unmount. Reads, writes and mmap all
// go to the memfd, so they agree with each other as on Linux.

#include "host/disk_image.h"
#include "host/fd.h"
#include "kernel/vfs/file.h"

#include <deque>
#include <map>
#include <expected>
#include <memory>
#include <set>
#include <unordered_map>

struct struct_ext2_filsys;

namespace umk::kernel {

class Ext4Fs;

class Ext4Inode final : public Inode {
public:
    ~Ext4Inode() override;

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
    KResult<std::vector<u8>> get_xattr(std::string_view name) override;
    KResult<void> set_xattr(std::string_view name, std::span<const u8> value, int flags) override;
    KResult<void> remove_xattr(std::string_view name) override;
    KResult<std::vector<std::string>> list_xattrs() override;
    KResult<RefPtr<File>> open(int flags) override;
    std::optional<FsStats> statfs() override;
    const void* fs_id() const override { return &m_fs; }

private:
    friend class Ext4Fs;
    friend class Ext4File;
    Ext4Inode(Ext4Fs& fs, u32 ino) : m_fs(fs), m_ino(ino) {}

    // Under the file system's lock.
    KResult<RefPtr<Inode>> make_child_locked(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid,
                                             std::string_view symlink_target);
    KResult<void> add_link_locked(std::string_view name, u32 ino, u32 mode);
    KResult<void> drop_link_locked(u32 ino, bool is_dir);
    KResult<void> remove(std::string_view name, bool directory);

    // The page cache (regular files).
    KResult<void> fill_cache_locked();
    KResult<void> write_back_locked();
    // The cache agrees with the disk (or need not): no chunk dirty, no
    // size to set, no blocks promised.
    void forget_written_locked();
    void mark_dirty(u64 offset, u64 length);
    void file_closed();
    KResult<usize> read_data(std::span<u8> out, u64 pos);
    KResult<usize> write_data(std::span<const u8> data, u64 pos);
    KResult<void> sync_data();

    Ext4Fs& m_fs;
    u32 m_ino;
    // Guarded by the file system's lock:
    host::Fd m_cache;        // the memfd, while a File is open (or a shared mapping may write)
    std::set<u64> m_dirty;   // chunks of m_cache that may differ from the disk
    bool m_all_dirty { false }; // handed to mmap writable: any chunk may
    bool m_size_dirty { false };
    std::optional<Timespec> m_pending_mtime; // from writes, not yet in the inode
    int m_open_files { 0 };
    u64 m_idle_bytes { 0 }; // the cache's size while in Ext4Fs::m_idle
    bool m_linkable { false }; // O_TMPFILE without O_EXCL: linkat may name it
    u64 m_promised { 0 };      // blocks reserved for what the cache holds
    bool m_unmounted { false }; // its file system is gone: nothing left to do
};

class Ext4File final : public File {
public:
    Ext4File(RefPtr<Ext4Inode> inode, int flags);
    ~Ext4File() override;
    KResult<usize> read(std::span<u8> out, u64 pos) override;
    KResult<usize> write(std::span<const u8> data, u64 pos) override;
    KResult<std::vector<DirEntry>> list() override;
    int host_fd() const override;
    KResult<void> sync() override;

private:
    Ext4Inode& ext4() const { return static_cast<Ext4Inode&>(inode()); }
};

// One mounted image. Lives as long as the guest's root.
class Ext4Fs {
public:
    // Opens the file system on `disk`; the error says what is wrong in
    // words for the user.
    static std::expected<std::unique_ptr<Ext4Fs>, std::string> mount(host::DiskImage disk);
    ~Ext4Fs();

    RefPtr<Ext4Inode> root();
    bool writable() const { return m_disk.writable(); }
    // Writes back every page cache and libext2fs's own state (sync(2)).
    KResult<void> sync();

private:
    friend class Ext4Inode;
    friend class Ext4File;
    explicit Ext4Fs(host::DiskImage disk);

    // Under m_lock:
    RefPtr<Ext4Inode> inode_locked(u32 ino);
    KResult<void> free_inode_locked(u32 ino);
    // The page caches of closed files: kept, oldest dropped past a budget.
    void keep_idle_locked(Ext4Inode&);
    void forget_idle_locked(Ext4Inode&);

    host::DiskImage m_disk;
    std::string m_channel_name;
    struct_ext2_filsys* m_fs { nullptr };
    bool m_mounted { false };
    std::recursive_mutex m_lock;
    std::unordered_map<u32, Ext4Inode*> m_inodes; // weak: each removes itself
    std::deque<Ext4Inode*> m_idle;                // oldest first
    u64 m_idle_bytes { 0 };
    u64 m_promised_blocks { 0 }; // to dirty page caches, not yet allocated
    u64 m_dev;
};

} // namespace umk::kernel
