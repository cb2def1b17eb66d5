#pragma once

// A directory that can be the writable upper layer of an overlay (Linux
// overlayfs's upperdir): besides its entries it keeps whiteouts (names
// deleted from the lower layer) and an opaque mark (the lower directory
// is hidden whole). tmpfs keeps them in memory; a host directory
// (--upper DIR) in overlayfs's own userxattr format.

#include "kernel/vfs/inode.h"

namespace umk::kernel {

class UpperInode : public Inode {
public:
    virtual bool has_whiteout(std::string_view name) = 0;
    // `name` is free (no entry) when a whiteout is added.
    virtual KResult<void> add_whiteout(std::string_view name) = 0;
    // Before a new entry takes the name of a whiteout.
    virtual KResult<void> remove_whiteout(std::string_view name) = 0;
    virtual bool opaque() = 0;
    virtual KResult<void> set_opaque() = 0;
};

} // namespace umk::kernel
