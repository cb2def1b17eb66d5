#pragma once

// A host directory tree as a guest file system. Every inode holds an
// O_PATH fd found by a confined, one-component openat2 from its parent's
// (host/files.h), opened at lookup, or, for the lower layer's files, when
// first needed (a stat looks up without one); host device nodes, FIFOs
// and sockets are shown but never opened; a host mount below the tree's
// root shows as an empty directory.
//
// Two uses: the read-only lower layer of the guest's root (attributes
// cached: the lower layer does not change under a guest, as with Linux
// overlayfs), and volumes (`umk run -v HOST:GUEST[:ro]`), whose attributes
// are read afresh and which the guest may change unless read-only. Every
// change is one *at call on an O_PATH fd the inode holds (its directory's,
// or its own with AT_EMPTY_PATH) that follows no symlink, so no path the
// guest writes can lead outside the tree.

#include "host/files.h"
#include "kernel/vfs/file.h"
#include "kernel/vfs/upper_inode.h"

#include <atomic>
#include <memory>
#include <sys/stat.h>

namespace umk::kernel {

struct HostMountOptions {
    bool writable { false };
    bool live { false }; // attributes read on every stat (the host may change them)
    // umk runs unprivileged: the guest's owners and file types that the
    // host refuses are kept in a user.umk.owner xattr ("UID:GID:MODE:RDEV",
    // MODE octal with the type), device nodes as regular placeholder files.
    bool owners_in_xattrs { false };
    // Host sockets in the tree are connectable (-v HOST:GUEST:sockets).
    bool host_sockets { false };
};

class HostInode final : public UpperInode {
public:
    // The root of one host mount (an O_PATH fd opened at setup).
    static KResult<RefPtr<HostInode>> make_root(host::Fd root, HostMountOptions options = {});

    KResult<InodeAttr> attr() override;
    KResult<RefPtr<Inode>> lookup(std::string_view name) override;
    KResult<std::vector<DirEntry>> list() override;
    KResult<RefPtr<Inode>> create(std::string_view name, u32 mode, u32 uid, u32 gid) override;
    KResult<RefPtr<Inode>> mkdir(std::string_view name, u32 mode, u32 uid, u32 gid) override;
    KResult<RefPtr<Inode>> symlink(std::string_view name, std::string_view target, u32 uid, u32 gid) override;
    KResult<RefPtr<Inode>> mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid) override;
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
    // A volume's is the host file system's; the lower layer shows through
    // the overlay's.
    std::optional<FsStats> statfs() override;
    // One host file system per mount (sub-mounts show empty).
    const void* fs_id() const override { return m_options.get(); }
    // The host file's attributes (regular files and directories).
    KResult<std::vector<u8>> get_xattr(std::string_view name) override;
    KResult<void> set_xattr(std::string_view name, std::span<const u8> value, int flags) override;
    KResult<void> remove_xattr(std::string_view name) override;
    KResult<std::vector<std::string>> list_xattrs() override;

    // As an overlay's upper layer (--upper DIR), in Linux overlayfs's
    // userxattr format: a whiteout is a 0/0 character device (which Linux
    // lets anyone make), an opaque directory has user.overlay.opaque "y".
    bool has_whiteout(std::string_view name) override;
    KResult<void> add_whiteout(std::string_view name) override;
    KResult<void> remove_whiteout(std::string_view name) override;
    bool opaque() override;
    KResult<void> set_opaque() override;

    // Every host inode object of one host file: the same file.
    FileKey file_key() override;
    bool stale() const override { return m_stale.load(std::memory_order_relaxed); }
    // The inode's O_PATH fd, opened now if the lookup did without it.
    KResult<int> path_fd();
    int connectable_host_socket() const override
    {
        return m_options->host_sockets && S_ISSOCK(m_stat.mode) ? m_fd.load(std::memory_order_acquire) : -1;
    }

private:
    HostInode(host::Fd fd, const host::HostStat& st, RefPtr<HostInode> parent, std::string name,
              std::shared_ptr<const HostMountOptions> options);
    ~HostInode() override;

    // Keeps `fd` as the inode's, unless another thread's came first: the one kept.
    int hold(host::Fd fd);
    // The file looked up, opened afresh by its name beneath the parent's
    // fd (host O_* `flags`), while the name is still that file: else the
    // host removed or replaced it since (went_stale).
    KResult<host::Fd> open_by_name(int flags);
    // ESTALE, and the inode marked so that it is looked up again (Inode::stale).
    std::unexpected<Errno> went_stale();
    KResult<host::HostStat> current();
    // This directory may change: a writable mount, not a covered mount point.
    KResult<void> check_writable_dir();
    // The new entry `name` (made by the host just now), owned by uid/gid.
    KResult<RefPtr<Inode>> made(std::string_view name, u32 uid, u32 gid);

    std::atomic<int> m_fd { -1 }; // O_PATH, -1 until path_fd opens it
    std::atomic<bool> m_stale { false }; // path_fd found the name gone or replaced
    host::HostStat m_stat; // as looked up (the lower layer's for good)
    RefPtr<HostInode> m_parent; // null for a mount root
    std::string m_name;
    std::shared_ptr<const HostMountOptions> m_options;
    bool m_covered { false }; // an excluded host mount: shown empty
    std::mutex m_lock;
    std::optional<bool> m_opaque; // read once, then kept (only umk sets it)
};

// An open host file (regular file or directory) or memfd.
class HostFile final : public File {
public:
    HostFile(RefPtr<Inode> inode, int flags, host::Fd fd) : File(std::move(inode), flags), m_fd(std::move(fd)) {}

    KResult<usize> read(std::span<u8> out, u64 pos) override;
    KResult<usize> write(std::span<const u8> data, u64 pos) override;
    KResult<std::vector<DirEntry>> list() override;
    int host_fd() const override { return m_fd.get(); }
    bool reads_host_fd() const override { return m_fd.valid(); }

private:
    host::Fd m_fd;
};

InodeAttr attr_from_host(const host::HostStat&);

} // namespace umk::kernel
