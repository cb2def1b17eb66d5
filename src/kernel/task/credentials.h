#pragma once

// A process's identity inside the guest (Linux's struct cred, minus
// capabilities beyond "is root": the guest's root has all of them).

#include "lib/types.h"

#include <vector>

namespace umk::kernel {

struct Credentials {
    u32 uid { 0 }, euid { 0 }, suid { 0 }, fsuid { 0 };
    u32 gid { 0 }, egid { 0 }, sgid { 0 }, fsgid { 0 };
    std::vector<u32> groups;

    static Credentials for_user(u32 uid, u32 gid)
    {
        return Credentials { uid, uid, uid, uid, gid, gid, gid, gid, {} };
    }
    bool in_group(u32 g) const;
};

} // namespace umk::kernel
