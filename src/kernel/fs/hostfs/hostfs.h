#pragma once

// A read-only view of a host directory tree: the lower layer of the
// guest's root. Every inode holds an O_PATH fd found by a confined,
// one-component openat2 from its parent's (host/files.h); host device
// nodes, FIFOs and sockets are shown but never opened; a host mount that
// is not in the guest's list shows as an empty directory.

#include "host/files.h"
#include "kernel/vfs/file.h"

namespace umk::kernel {

class HostInode final : public Inode {
public:
    // The root of one host mount (an O_PATH fd opened at setup).
    static KResult<RefPtr<HostInode>> make_root(host::Fd root);

    KResult<InodeAttr> attr() override;
    KResult<RefPtr<Inode>> lookup(std::string_view name) override;
    KResult<std::vector<DirEntry>> list() override;
    KResult<std::string> readlink() override;
    KResult<RefPtr<File>> open(int flags) override;
    const void* fs_id() const override { return &m_stat.dev; }
    // The host file's attributes (regular files and directories).
    KResult<std::vector<u8>> get_xattr(std::string_view name) override;
    KResult<std::vector<std::string>> list_xattrs() override;

    int path_fd() const { return m_fd.get(); }

private:
    HostInode(host::Fd fd, const host::HostStat& st, RefPtr<HostInode> parent, std::string name)
        : m_fd(std::move(fd)), m_stat(st), m_parent(std::move(parent)), m_name(std::move(name)) {}

    host::Fd m_fd; // O_PATH
    host::HostStat m_stat; // cached: the lower layer does not change under a guest
    RefPtr<HostInode> m_parent; // null for a mount root
    std::string m_name;
    bool m_covered { false }; // an excluded host mount: shown empty
};

// An open host file (regular file or directory) or memfd.
class HostFile final : public File {
public:
    HostFile(RefPtr<Inode> inode, int flags, host::Fd fd) : File(std::move(inode), flags), m_fd(std::move(fd)) {}

    KResult<usize> read(std::span<u8> out, u64 pos) override;
    KResult<usize> write(std::span<const u8> data, u64 pos) override;
    KResult<std::vector<DirEntry>> list() override;
    int host_fd() const override { return m_fd.get(); }

private:
    host::Fd m_fd;
};

InodeAttr attr_from_host(const host::HostStat&);

} // namespace umk::kernel
