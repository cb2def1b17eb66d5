// Capability transitions. Linux: security/commoncap.c.
#include "kernel/task/credentials.h"

#include <sys/stat.h>

namespace umk::kernel {

namespace {

// The capabilities of file-system access that follow fsuid (CAP_FS_SET).
constexpr u64 kFsCaps = cap_bit(kCapChown) | cap_bit(kCapDacOverride) | cap_bit(kCapDacReadSearch)
    | cap_bit(kCapFowner) | cap_bit(kCapFsetid) | cap_bit(kCapLinuxImmutable) | cap_bit(kCapMknod)
    | cap_bit(kCapMacOverride);

bool subset(u64 a, u64 b) { return (a & ~b) == 0; }

} // namespace

Credentials Credentials::for_user(u32 uid, u32 gid)
{
    Credentials c;
    c.uid = c.euid = c.suid = c.fsuid = uid;
    c.gid = c.egid = c.sgid = c.fsgid = gid;
    if (uid == 0)
        c.cap_permitted = c.cap_effective = kAllCaps;
    return c;
}

void Credentials::fix_after_setuid(const Credentials& old)
{
    if (securebits & kSecureNoSetuidFixup)
        return;
    bool was_root = old.uid == 0 || old.euid == 0 || old.suid == 0;
    if (was_root && uid != 0 && euid != 0 && suid != 0) {
        if (!(securebits & kSecureKeepCaps))
            cap_permitted = cap_effective = 0;
        cap_ambient = 0;
    }
    if (old.euid == 0 && euid != 0)
        cap_effective = 0;
    if (old.euid != 0 && euid == 0)
        cap_effective = cap_permitted;
}

void Credentials::fix_after_setfsuid(const Credentials& old)
{
    if (securebits & kSecureNoSetuidFixup)
        return;
    if (old.fsuid == 0 && fsuid != 0)
        cap_effective &= ~kFsCaps;
    if (old.fsuid != 0 && fsuid == 0)
        cap_effective |= cap_permitted & kFsCaps;
}

Credentials Credentials::for_access() const
{
    Credentials c = *this;
    c.fsuid = uid;
    c.fsgid = gid;
    if (!(securebits & kSecureNoSetuidFixup))
        c.cap_effective = uid != 0 ? 0 : cap_permitted;
    return c;
}

Credentials Credentials::for_exec(u32 mode, u32 file_uid, u32 file_gid, bool no_new_privs, bool untrusted_tracer,
                                  bool& secure) const
{
    Credentials n = *this;
    // bprm_fill_uid: the set-user-ID and set-group-ID bits.
    if (mode & S_ISUID)
        n.euid = file_uid;
    if ((mode & S_ISGID) && (mode & S_IXGRP))
        n.egid = file_gid;
    // No file capabilities: the file's sets are empty, except that root
    // is given every capability in the bounding set (handle_privileged_root).
    n.cap_permitted = 0;
    bool effective = false;
    if (!(securebits & kSecureNoroot)) {
        if (n.euid == 0 || n.uid == 0)
            n.cap_permitted = cap_bounding | cap_inheritable;
        effective = n.euid == 0;
    }
    bool is_setid = n.euid != uid || n.egid != gid;
    if ((is_setid || !subset(n.cap_permitted, cap_permitted)) && (no_new_privs || untrusted_tracer)) {
        // No more than the caller had.
        if (!has(kCapSetuid) || no_new_privs) {
            n.euid = n.uid;
            n.egid = n.gid;
        }
        n.cap_permitted &= cap_permitted;
    }
    n.suid = n.fsuid = n.euid;
    n.sgid = n.fsgid = n.egid;
    if (is_setid)
        n.cap_ambient = 0;
    n.cap_permitted |= n.cap_ambient;
    n.cap_effective = effective ? n.cap_permitted : n.cap_ambient;
    n.securebits &= ~kSecureKeepCaps;
    secure = is_setid || (n.uid != 0 && (effective || !subset(n.cap_permitted, n.cap_ambient)));
    return n;
}

} // namespace umk::kernel
