#pragma once

// A process's identity inside the guest: Linux's struct cred with its
// capability sets and securebits (no file capabilities, one user
// namespace). The transitions of the capability sets follow Linux's
// security/commoncap.c.

#include "lib/types.h"

#include <vector>

namespace umk::kernel {

// Capability numbers (linux/capability.h).
enum Capability : int {
    kCapChown = 0,
    kCapDacOverride = 1,
    kCapDacReadSearch = 2,
    kCapFowner = 3,
    kCapFsetid = 4,
    kCapKill = 5,
    kCapSetgid = 6,
    kCapSetuid = 7,
    kCapSetpcap = 8,
    kCapLinuxImmutable = 9,
    kCapSysChroot = 18,
    kCapSysPtrace = 19,
    kCapSysAdmin = 21,
    kCapSysNice = 23,
    kCapSysResource = 24,
    kCapMknod = 27,
    kCapSetfcap = 31,
    kCapMacOverride = 32,
    kCapWakeAlarm = 35,
    kCapLast = 40, // CAP_CHECKPOINT_RESTORE
};
constexpr u64 kAllCaps = (u64 { 1 } << (kCapLast + 1)) - 1;
constexpr u64 cap_bit(int cap) { return u64 { 1 } << cap; }
constexpr bool cap_valid(u64 cap) { return cap <= kCapLast; }

// securebits (linux/securebits.h): each bit and, one above it, its lock.
constexpr u32 kSecureNoroot = 1 << 0;
constexpr u32 kSecureNoSetuidFixup = 1 << 2;
constexpr u32 kSecureKeepCaps = 1 << 4;
constexpr u32 kSecureNoCapAmbientRaise = 1 << 6;
constexpr u32 kSecureAllBits = kSecureNoroot | kSecureNoSetuidFixup | kSecureKeepCaps | kSecureNoCapAmbientRaise;
constexpr u32 kSecureAllLocks = kSecureAllBits << 1;

struct Credentials {
    u32 uid { 0 }, euid { 0 }, suid { 0 }, fsuid { 0 };
    u32 gid { 0 }, egid { 0 }, sgid { 0 }, fsgid { 0 };
    std::vector<u32> groups;
    u64 cap_inheritable { 0 }, cap_permitted { 0 }, cap_effective { 0 }, cap_bounding { kAllCaps }, cap_ambient { 0 };
    u32 securebits { 0 };

    // A first process: root has every capability, anyone else none.
    static Credentials for_user(u32 uid, u32 gid);
    bool in_group(u32 g) const;
    bool has(int cap) const { return (cap_effective >> cap) & 1; }

    // After a change of uids by set*uid (cap_emulate_setxuid): leaving
    // root drops the capabilities, an effective uid of 0 raises them.
    void fix_after_setuid(const Credentials& old);
    // After setfsuid: the file-system capabilities follow fsuid 0.
    void fix_after_setfsuid(const Credentials& old);
    // access(2)'s view: the real ids, and the capabilities they give.
    Credentials for_access() const;

    // execve (cap_bprm_creds_from_file) of a file with mode `mode`,
    // owner `file_uid`/`file_gid`. With no_new_privs, or traced by a
    // tracer without CAP_SYS_PTRACE, nothing is gained. Sets `secure`
    // for AT_SECURE.
    Credentials for_exec(u32 mode, u32 file_uid, u32 file_gid, bool no_new_privs, bool untrusted_tracer,
                         bool& secure) const;
};

} // namespace umk::kernel
