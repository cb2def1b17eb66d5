#pragma once

// umk's own /dev: null, zero, full, random, urandom, tty, and the fd,
// stdin, stdout, stderr links into /proc/self/fd. Never a host device node. Directory entries are fixed at boot.

#include "kernel/vfs/file.h"

#include <map>

namespace umk::kernel {

// A directory whose entries are given at construction (devfs, parts of procfs).
class StaticDir : public Inode {
public:
    StaticDir(u64 dev, u64 ino, u32 mode = 0040755) : m_dev(dev), m_ino(ino), m_mode(mode) {}
    void add(std::string name, RefPtr<Inode> inode) { m_entries.insert_or_assign(std::move(name), std::move(inode)); }
    // Adjusts the attributes it reports (procfs: the owner of /proc/PID).
    using AttrHook = std::function<void(InodeAttr&)>;
    void set_attr_hook(AttrHook hook) { m_attr_hook = std::move(hook); }

    KResult<InodeAttr> attr() override;
    KResult<RefPtr<Inode>> lookup(std::string_view name) override;
    KResult<std::vector<DirEntry>> list() override;
    KResult<RefPtr<File>> open(int flags) override;
    const void* fs_id() const override { return this; }

private:
    u64 m_dev, m_ino;
    u32 m_mode;
    AttrHook m_attr_hook;
    std::map<std::string, RefPtr<Inode>, std::less<>> m_entries;
};

// Builds /dev. `console_fd` is the host fd /dev/tty stands for (the user's
// terminal), or -1 when umk has none.
RefPtr<Inode> make_devfs(int console_fd);
// A device node elsewhere (mknod in tmpfs, say) opens umk's device of
// that number: ENXIO for one umk does not have.
KResult<RefPtr<File>> open_device(u64 rdev, bool block, int flags);
bool is_devfs(const Inode&);

// A directory File whose listing comes from its inode.
class DirectoryFile final : public File {
public:
    using File::File;
    KResult<std::vector<DirEntry>> list() override { return inode().list(); }
};

} // namespace umk::kernel
