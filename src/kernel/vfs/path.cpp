#include "kernel/vfs/path.h"

#include <sys/stat.h>

namespace umk::kernel {

bool Credentials::in_group(u32 g) const
{
    if (g == fsgid)
        return true;
    for (u32 x : groups)
        if (x == g)
            return true;
    return false;
}

// Linux's generic_permission: the mode bits, then the capabilities that
// override them.
KResult<void> check_access(const InodeAttr& a, const Credentials& c, int may)
{
    u32 bits = a.mode & 07;
    if (c.fsuid == a.uid)
        bits = (a.mode >> 6) & 07;
    else if (c.in_group(a.gid))
        bits = (a.mode >> 3) & 07;
    if ((bits & static_cast<u32>(may)) == static_cast<u32>(may))
        return {};
    if (S_ISDIR(a.mode)) {
        if (!(may & kMayWrite) && c.has(kCapDacReadSearch))
            return {};
        return c.has(kCapDacOverride) ? KResult<void>() : err(Errno::ACCES);
    }
    // Read and write always; exec only of a file with an x bit somewhere.
    if ((!(may & kMayExec) || (a.mode & 0111)) && c.has(kCapDacOverride))
        return {};
    if (may == kMayRead && c.has(kCapDacReadSearch))
        return {};
    return err(Errno::ACCES);
}

KResult<void> check_access(const Inode& inode, const InodeAttr& attr, const Credentials& c, int may)
{
    if (inode.open_to_caller())
        return {};
    return check_access(attr, c, may);
}

RefPtr<Dentry> follow_mounts(RefPtr<Dentry> d)
{
    while (auto m = d->mounted())
        d = m;
    return d;
}

namespace {

RefPtr<Dentry> parent_of(const RefPtr<Dentry>& root, RefPtr<Dentry> d)
{
    for (;;) {
        if (d == root)
            return d;
        if (auto p = d->parent())
            return follow_mounts(p);
        Dentry* mp = d->mountpoint();
        if (!mp)
            return d; // the global root
        d = RefPtr<Dentry>(mp);
    }
}

struct Walker {
    const PathContext& ctx;
    int links { 0 };

    // RESOLVE_NO_XDEV: the walk stays in the mount it started in.
    KResult<RefPtr<Dentry>> same_mount(const RefPtr<Dentry>& from, RefPtr<Dentry> to) const
    {
        if ((ctx.resolve & kResolveNoXdev) && from->mount_root() != to->mount_root())
            return err(Errno::XDEV);
        return to;
    }

    // The walk of a whole path: an absolute one starts at the root (Linux's
    // path_init; RESOLVE_NO_XDEV holds only from there).
    KResult<RefPtr<Dentry>> walk_path(std::string_view path, Follow follow_last)
    {
        return walk(path.starts_with('/') ? ctx.root : ctx.start, path, follow_last);
    }

    KResult<RefPtr<Dentry>> walk(RefPtr<Dentry> cur, std::string_view path, Follow follow_last)
    {
        if (path.empty())
            return err(Errno::NOENT);
        if (path.size() >= kPathMax)
            return err(Errno::NAMETOOLONG);
        if (path[0] == '/') {
            if (ctx.resolve & kResolveBeneath)
                return err(Errno::XDEV); // an absolute path leaves the start
            cur = TRY(same_mount(cur, ctx.root));
        }
        // The start is where the process is (its root, its cwd): a mount
        // made on it since is not entered (Linux keeps (mount, dentry)
        // pairs there; `cd .` would enter it).
        usize i = 0;
        std::optional<InodeAttr> cur_attr; // cur's, when the step to it read them
        while (i < path.size()) {
            while (i < path.size() && path[i] == '/')
                i++;
            if (i == path.size())
                break;
            usize end = path.find('/', i);
            if (end == std::string_view::npos)
                end = path.size();
            std::string_view name = path.substr(i, end - i);
            usize rest = end;
            while (rest < path.size() && path[rest] == '/')
                rest++;
            bool last = rest == path.size();
            bool trailing_slash = last && end < path.size();
            i = end;

            auto attr = cur_attr ? *std::exchange(cur_attr, std::nullopt) : TRY(cur->inode().attr());
            if (!S_ISDIR(attr.mode))
                return err(Errno::NOTDIR);
            TRY(check_access(cur->inode(), attr, ctx.creds, kMayExec));
            if (name == ".")
                continue;
            if (name == "..") {
                // RESOLVE_BENEATH: not above the start (the root is the
                // start for RESOLVE_IN_ROOT, where ".." stops as at /).
                if ((ctx.resolve & kResolveBeneath) && cur == follow_mounts(ctx.start))
                    return err(Errno::XDEV);
                cur = TRY(same_mount(cur, parent_of(ctx.root, cur)));
                continue;
            }
            if (name.size() > kNameMax)
                return err(Errno::NAMETOOLONG);
            auto child = TRY(cur->child(name));
            auto next = TRY(same_mount(child, follow_mounts(child)));
            auto next_attr = TRY(next->inode().attr());
            if (S_ISLNK(next_attr.mode) && (!last || trailing_slash || follow_last == Follow::Yes)) {
                if (ctx.resolve & kResolveNoSymlinks)
                    return err(Errno::LOOP);
                if (++links > kMaxSymlinks)
                    return err(Errno::LOOP);
                if (auto jumped = TRY(next->inode().jump())) {
                    // Magic links: ELOOP when refused, EXDEV in a scoped walk
                    // (Linux's nd_jump_link).
                    if (ctx.resolve & kResolveNoMagiclinks)
                        return err(Errno::LOOP);
                    if (ctx.resolve & (kResolveBeneath | kResolveInRoot))
                        return err(Errno::XDEV);
                    next = TRY(same_mount(next, follow_mounts(jumped)));
                } else {
                    auto target = TRY(next->inode().readlink());
                    next = TRY(walk(cur, target, Follow::Yes));
                }
                next_attr = TRY(next->inode().attr());
            }
            if (trailing_slash && !S_ISDIR(next_attr.mode))
                return err(Errno::NOTDIR);
            cur = next;
            cur_attr = next_attr;
        }
        return cur;
    }
};

} // namespace

KResult<RefPtr<Dentry>> resolve_path(const PathContext& ctx, std::string_view path, Follow follow_last)
{
    Dentry::prune_if_requested(*ctx.root);
    Walker w { ctx };
    return w.walk_path(path, follow_last);
}

KResult<ParentAndName> resolve_parent(const PathContext& ctx, std::string_view path)
{
    Dentry::prune_if_requested(*ctx.root);
    if (path.empty())
        return err(Errno::NOENT);
    if (path.size() >= kPathMax)
        return err(Errno::NAMETOOLONG);
    usize end = path.size();
    while (end > 0 && path[end - 1] == '/')
        end--;
    ParentAndName out;
    out.trailing_slash = end < path.size();
    if (end == 0) { // "/" or "///"
        out.parent = ctx.root;
        out.name = ".";
        return out;
    }
    usize slash = path.rfind('/', end - 1);
    std::string_view dir = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1);
    out.name = std::string(path.substr(slash == std::string_view::npos ? 0 : slash + 1,
                                       end - (slash == std::string_view::npos ? 0 : slash + 1)));
    if (out.name.size() > kNameMax)
        return err(Errno::NAMETOOLONG);
    Walker w { ctx };
    out.parent = dir.empty() ? follow_mounts(ctx.start) : TRY(w.walk_path(dir, Follow::Yes));
    auto attr = TRY(out.parent->inode().attr());
    if (!S_ISDIR(attr.mode))
        return err(Errno::NOTDIR);
    TRY(check_access(out.parent->inode(), attr, ctx.creds, kMayExec));
    return out;
}

} // namespace umk::kernel
