#pragma once

// Linux's anon_inodefs: the one inode behind epoll fds, eventfds, seccomp
// listeners and the like (mode 0600, no file type; /proc/PID/fd shows
// "anon_inode:NAME").

#include "kernel/vfs/inode.h"

namespace umk::kernel {

// What stat shows for every anon inode.
InodeAttr anon_inode_attr();

class AnonInode final : public Inode {
public:
    explicit AnonInode(std::string name) : m_name(std::move(name)) {}
    KResult<InodeAttr> attr() override;
    KResult<RefPtr<File>> open(int) override { return err(Errno::NXIO); }
    const void* fs_id() const override { return &kAnonFs; }
    std::optional<std::string> anon_name() const override { return m_name; }

private:
    static const int kAnonFs;
    std::string m_name;
};

} // namespace umk::kernel
