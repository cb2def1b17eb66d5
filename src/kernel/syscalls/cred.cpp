// set*uid(2), set*gid(2), setgroups(2), capget/capset(2). Linux:
// kernel/sys.c, kernel/groups.c, kernel/capability.c; the capability
// transitions are Credentials' (task/credentials.cpp).
#include "kernel/syscalls/handlers.h"

namespace umk::kernel {

namespace {

constexpr u32 kUnchanged = 0xffffffff; // -1: leave this id alone
constexpr int kNgroupsMax = 65536;

bool one_of(u32 id, std::initializer_list<u32> allowed)
{
    return std::find(allowed.begin(), allowed.end(), id) != allowed.end();
}

// Applies `change` to a copy of the caller's credentials and installs it.
template <class Change>
KResult<u64> change_creds(Thread& t, Change change)
{
    TRY(t.process().update_creds(change));
    return 0;
}

// The user or the group side of a Credentials: the same rules apply to
// both (Linux's __sys_setuid and __sys_setgid, etc.), each with its
// capability; a change of uids also changes the capability sets.
struct IdSet {
    u32 Credentials::*real;
    u32 Credentials::*effective;
    u32 Credentials::*saved;
    u32 Credentials::*fs;
    int cap;
    bool users;
};
constexpr IdSet kUids { &Credentials::uid, &Credentials::euid, &Credentials::suid, &Credentials::fsuid, kCapSetuid, true };
constexpr IdSet kGids { &Credentials::gid, &Credentials::egid, &Credentials::sgid, &Credentials::fsgid, kCapSetgid, false };

bool capable(const Credentials& c, const IdSet& s) { return c.has(s.cap); }

// The same for set*uid/set*gid, with the capability fixup of a uid change.
template <class Change>
KResult<u64> change_ids(Thread& t, const IdSet& s, Change change)
{
    return change_creds(t, [&](Credentials& c) -> KResult<void> {
        Credentials old = c;
        TRY(change(c));
        if (s.users)
            c.fix_after_setuid(old);
        return {};
    });
}

KResult<u64> set_id(Thread& t, const IdSet& s, u32 id)
{
    if (id == kUnchanged)
        return err(Errno::INVAL);
    return change_ids(t, s, [&](Credentials& c) -> KResult<void> {
        if (capable(c, s)) {
            c.*s.real = c.*s.saved = id;
        } else if (id != c.*s.real && id != c.*s.saved) {
            return err(Errno::PERM);
        }
        c.*s.effective = c.*s.fs = id;
        return {};
    });
}

KResult<u64> set_real_effective(Thread& t, const IdSet& s, u32 real, u32 effective)
{
    return change_ids(t, s, [&](Credentials& c) -> KResult<void> {
        Credentials n = c;
        if (real != kUnchanged) {
            if (!capable(c, s) && !one_of(real, { c.*s.real, c.*s.effective }))
                return err(Errno::PERM);
            n.*s.real = real;
        }
        if (effective != kUnchanged) {
            if (!capable(c, s) && !one_of(effective, { c.*s.real, c.*s.effective, c.*s.saved }))
                return err(Errno::PERM);
            n.*s.effective = effective;
        }
        if (real != kUnchanged || (effective != kUnchanged && effective != c.*s.real))
            n.*s.saved = n.*s.effective;
        n.*s.fs = n.*s.effective;
        c = n;
        return {};
    });
}

KResult<u64> set_real_effective_saved(Thread& t, const IdSet& s, u32 real, u32 effective, u32 saved)
{
    return change_ids(t, s, [&](Credentials& c) -> KResult<void> {
        for (u32 id : { real, effective, saved })
            if (id != kUnchanged && !capable(c, s) && !one_of(id, { c.*s.real, c.*s.effective, c.*s.saved }))
                return err(Errno::PERM);
        if (real != kUnchanged)
            c.*s.real = real;
        if (effective != kUnchanged)
            c.*s.effective = effective;
        if (saved != kUnchanged)
            c.*s.saved = saved;
        c.*s.fs = c.*s.effective;
        return {};
    });
}

// setfsuid/setfsgid return the previous value whether or not they changed it.
u64 set_fs(Thread& t, const IdSet& s, u32 id)
{
    u32 old = 0;
    (void)t.process().update_creds([&](Credentials& c) -> KResult<void> {
        old = c.*s.fs;
        if (id == kUnchanged || (!capable(c, s) && !one_of(id, { c.*s.real, c.*s.effective, c.*s.saved, c.*s.fs })))
            return err(Errno::PERM); // unchanged
        const Credentials before = c;
        c.*s.fs = id;
        if (s.users)
            c.fix_after_setfsuid(before);
        return {};
    });
    return old;
}

} // namespace

KResult<u64> sys_setuid(Thread& t, u32 uid) { return set_id(t, kUids, uid); }
KResult<u64> sys_setgid(Thread& t, u32 gid) { return set_id(t, kGids, gid); }
KResult<u64> sys_setreuid(Thread& t, u32 ruid, u32 euid) { return set_real_effective(t, kUids, ruid, euid); }
KResult<u64> sys_setregid(Thread& t, u32 rgid, u32 egid) { return set_real_effective(t, kGids, rgid, egid); }

KResult<u64> sys_setresuid(Thread& t, u32 ruid, u32 euid, u32 suid)
{
    return set_real_effective_saved(t, kUids, ruid, euid, suid);
}

KResult<u64> sys_setresgid(Thread& t, u32 rgid, u32 egid, u32 sgid)
{
    return set_real_effective_saved(t, kGids, rgid, egid, sgid);
}

KResult<u64> sys_setfsuid(Thread& t, u32 uid) { return set_fs(t, kUids, uid); }
KResult<u64> sys_setfsgid(Thread& t, u32 gid) { return set_fs(t, kGids, gid); }

KResult<u64> sys_setgroups(Thread& t, int size, GuestAddr list)
{
    if (size < 0 || size > kNgroupsMax)
        return err(Errno::INVAL);
    std::vector<u32> groups(static_cast<usize>(size));
    if (size)
        TRY(t.mm().copy_in(list.value, std::span(reinterpret_cast<u8*>(groups.data()), groups.size() * 4)));
    return change_creds(t, [&](Credentials& c) -> KResult<void> {
        if (!c.has(kCapSetgid))
            return err(Errno::PERM);
        std::sort(groups.begin(), groups.end());
        c.groups = groups;
        return {};
    });
}

// capget(2)/capset(2), versions 1 to 3 (one or two 32-bit words per set).
namespace {

struct CapHeader {
    u32 version;
    i32 pid;
};
struct CapData {
    u32 effective, permitted, inheritable;
};
constexpr u32 kCapV1 = 0x19980330, kCapV2 = 0x20071026, kCapV3 = 0x20080522;

KResult<int> cap_words(Thread& t, GuestAddr header)
{
    auto h = TRY(copy_in<CapHeader>(t, header.value));
    if (h.version != kCapV1 && h.version != kCapV2 && h.version != kCapV3) {
        TRY(copy_out(t, header.value, CapHeader { kCapV3, h.pid }));
        return err(Errno::INVAL);
    }
    if (h.pid < 0)
        return err(Errno::INVAL);
    return h.version == kCapV1 ? 1 : 2;
}

} // namespace

KResult<u64> sys_capget(Thread& t, GuestAddr header, GuestAddr data)
{
    int words = TRY(cap_words(t, header));
    auto h = TRY(copy_in<CapHeader>(t, header.value));
    RefPtr<Process> target(&t.process());
    if (h.pid && h.pid != t.process().pid()) {
        target = t.kernel().find_thread_group(h.pid);
        if (!target)
            return err(Errno::SRCH);
    }
    if (data.null())
        return 0;
    auto c = target->creds();
    CapData out[2];
    for (int w = 0; w < 2; w++)
        out[w] = { static_cast<u32>(c.cap_effective >> (32 * w)), static_cast<u32>(c.cap_permitted >> (32 * w)),
                   static_cast<u32>(c.cap_inheritable >> (32 * w)) };
    TRY(t.mm().copy_out(data.value, std::span(reinterpret_cast<const u8*>(out), words * sizeof(CapData))));
    return 0;
}

// Linux's cap_capset: the new permitted set within the old one, the
// effective within the new permitted, the inheritable within the old
// inheritable and permitted (or anything with CAP_SETPCAP) and within
// the bounding set. The ambient set keeps what stays permitted and
// inheritable.
KResult<u64> sys_capset(Thread& t, GuestAddr header, GuestAddr data)
{
    int words = TRY(cap_words(t, header));
    auto h = TRY(copy_in<CapHeader>(t, header.value));
    if (h.pid && h.pid != t.process().pid())
        return err(Errno::PERM);
    CapData in[2] {};
    TRY(t.mm().copy_in(data.value, std::span(reinterpret_cast<u8*>(in), words * sizeof(CapData))));
    auto set = [&](u32 CapData::*field) {
        u64 v = static_cast<u64>(in[0].*field) | (words > 1 ? static_cast<u64>(in[1].*field) << 32 : 0);
        return v & kAllCaps;
    };
    u64 effective = set(&CapData::effective), permitted = set(&CapData::permitted),
        inheritable = set(&CapData::inheritable);
    return change_creds(t, [&](Credentials& c) -> KResult<void> {
        auto within = [](u64 a, u64 b) { return (a & ~b) == 0; };
        if (!within(inheritable, c.cap_inheritable | c.cap_permitted) && !c.has(kCapSetpcap))
            return err(Errno::PERM);
        if (!within(inheritable, c.cap_inheritable | c.cap_bounding))
            return err(Errno::PERM);
        if (!within(permitted, c.cap_permitted) || !within(effective, permitted))
            return err(Errno::PERM);
        c.cap_effective = effective;
        c.cap_permitted = permitted;
        c.cap_inheritable = inheritable;
        c.cap_ambient &= permitted & inheritable;
        return {};
    });
}

} // namespace umk::kernel
