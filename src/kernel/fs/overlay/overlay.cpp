#include "kernel/fs/overlay/overlay.h"

#include "host/files.h"
#include "kernel/fs/hostfs/hostfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <set>

namespace umk::kernel {

OverlayFs::OverlayFs(std::map<std::string, RefPtr<Inode>> lower_mounts, RefPtr<UpperInode> upper)
    : m_lower_mounts(std::move(lower_mounts))
{
    RefPtr<Inode> lower;
    if (auto it = m_lower_mounts.find(""); it != m_lower_mounts.end())
        lower = it->second;
    if (!upper) {
        upper = m_memory_upper.root();
        if (lower) {
            if (auto a = lower->attr()) {
                (void)upper->chmod(a->mode);
                (void)upper->chown(a->uid, a->gid);
                (void)upper->set_times(a->atime, a->mtime);
            }
        }
    }
    m_root = make_ref<OverlayInode>(*this, nullptr, "", lower, upper);
}

OverlayInode::OverlayInode(OverlayFs& fs, RefPtr<OverlayInode> parent, std::string name, RefPtr<Inode> lower,
                           RefPtr<UpperInode> upper)
    : m_fs(fs), m_parent(std::move(parent)), m_name(std::move(name)), m_lower(std::move(lower)), m_upper(std::move(upper)),
      m_upper_now(m_upper.get())
{
    if (m_parent && !m_parent->m_mounts_below)
        return;
    std::string below = m_parent ? lower_path() + "/" : "";
    auto it = m_fs.m_lower_mounts.upper_bound(below); // past `below` itself ("" for the root)
    m_mounts_below = it != m_fs.m_lower_mounts.end() && it->first.starts_with(below);
}

RefPtr<UpperInode> OverlayInode::upper() { return RefPtr<UpperInode>(m_upper_now.load(std::memory_order_acquire)); }

bool OverlayInode::stale() const
{
    return m_lower && m_lower->stale() && !m_upper_now.load(std::memory_order_acquire);
}

Inode::FileKey OverlayInode::file_key()
{
    if (auto up = upper())
        return up->file_key();
    return m_lower ? m_lower->file_key() : Inode::file_key();
}

RefPtr<Inode> OverlayInode::lower_mount(std::string_view name) const
{
    if (!m_mounts_below)
        return nullptr;
    std::string path = lower_path();
    path = path.empty() ? std::string(name) : path + "/" + std::string(name);
    auto it = m_fs.m_lower_mounts.find(path);
    return it != m_fs.m_lower_mounts.end() ? it->second : nullptr;
}

std::string OverlayInode::lower_path() const
{
    if (!m_parent)
        return "";
    std::string p = m_parent->lower_path();
    return p.empty() ? m_name : p + "/" + m_name;
}

KResult<InodeAttr> OverlayInode::attr()
{
    auto up = upper();
    if (!up)
        return m_lower->attr();
    auto a = TRY(up->attr());
    if (m_lower) {
        // Keep the identity the file had before copy-up; a merged
        // directory keeps the lower one's size too (its upper half is
        // only a container for changes) and counts 1 link, since its
        // subdirectories are in either half.
        auto low = TRY(m_lower->attr());
        a.dev = low.dev;
        a.ino = low.ino;
        if (S_ISDIR(a.mode)) {
            a.nlink = 1; // a merged directory, as overlayfs's ovl_getattr
            a.size = low.size;
            a.blocks = low.blocks;
            a.blksize = low.blksize;
        }
    }
    return a;
}

KResult<RefPtr<Inode>> OverlayInode::lookup(std::string_view name)
{
    auto up_dir = upper();
    RefPtr<UpperInode> up;
    bool hidden = false;
    if (up_dir) {
        hidden = up_dir->has_whiteout(name) || up_dir->opaque();
        if (!up_dir->has_whiteout(name)) {
            if (auto r = up_dir->lookup(name))
                up = RefPtr<UpperInode>(static_cast<UpperInode*>(r->get()));
            else if (r.error() != Errno::NOENT)
                return err(r.error());
        }
    }
    RefPtr<Inode> low;
    if (m_lower && !hidden) {
        if (auto mounted = lower_mount(name)) {
            low = mounted;
        } else if (auto r = m_lower->lookup(name)) {
            low = *r;
        } else if (r.error() != Errno::NOENT) {
            return err(r.error());
        }
    }
    if (up && low && (!up->is_dir() || !low->is_dir() || up->opaque()))
        low = nullptr;
    if (!up && !low)
        return err(Errno::NOENT);
    return RefPtr<Inode>(make_ref<OverlayInode>(m_fs, RefPtr<OverlayInode>(this), std::string(name), low, up));
}

KResult<std::vector<DirEntry>> OverlayInode::list()
{
    auto up = upper();
    std::vector<DirEntry> out;
    std::set<std::string, std::less<>> seen;
    if (up) {
        for (auto& e : TRY(up->list())) {
            if (e.type == DT_CHR && up->has_whiteout(e.name)) // a host upper's whiteouts are entries
                continue;
            seen.insert(e.name);
            out.push_back(std::move(e));
        }
    }
    if (m_lower && !(up && up->opaque())) {
        for (auto& e : TRY(m_lower->list())) {
            if (seen.contains(e.name) || (up && up->has_whiteout(e.name)))
                continue;
            out.push_back(std::move(e));
        }
    }
    return out;
}

KResult<RefPtr<UpperInode>> OverlayInode::copy_up()
{
    if (auto up = upper())
        return up;
    // One copy-up at a time: a racing one waits and takes its result
    // (else it would make the upper file again: EEXIST).
    std::lock_guard lock(m_lock);
    if (auto up = upper())
        return up;
    // Preconditions: not the root (whose upper always exists).
    auto parent_up = TRY(m_parent->copy_up());
    auto a = TRY(m_lower->attr());
    RefPtr<Inode> made;
    switch (a.mode & S_IFMT) {
    case S_IFDIR:
        made = TRY(parent_up->mkdir(m_name, a.mode & 07777, a.uid, a.gid));
        break;
    case S_IFLNK:
        made = TRY(parent_up->symlink(m_name, TRY(m_lower->readlink()), a.uid, a.gid));
        break;
    case S_IFREG: {
        auto from = TRY(m_lower->open(O_RDONLY));
        auto created = TRY(parent_up->create(m_name, a.mode, a.uid, a.gid));
        auto to = created->open(O_WRONLY);
        auto copied = to ? host::copy_file(from->host_fd(), (*to)->host_fd()) : KResult<void>(err(to.error()));
        if (!copied) {
            (void)parent_up->unlink(m_name);
            return err(copied.error() == Errno::NOSPC ? Errno::NOSPC : Errno::IO);
        }
        made = created;
        break;
    }
    default:
        made = TRY(parent_up->mknod(m_name, a.mode, a.rdev, a.uid, a.gid));
        break;
    }
    // The lower's extended attributes come along (those the upper keeps).
    if (auto names = m_lower->list_xattrs()) {
        for (auto& name : *names)
            if (auto value = m_lower->get_xattr(name))
                (void)made->set_xattr(name, *value, 0);
    }
    (void)made->set_times(a.atime, a.mtime);
    m_upper = RefPtr<UpperInode>(static_cast<UpperInode*>(made.get()));
    m_upper_now.store(m_upper.get(), std::memory_order_release);
    return m_upper;
}

KResult<bool> OverlayInode::lower_has(std::string_view name)
{
    if (!m_lower)
        return false;
    auto up = upper();
    if (up && (up->has_whiteout(name) || up->opaque()))
        return false;
    auto r = m_lower->lookup(name);
    if (r)
        return true;
    if (r.error() == Errno::NOENT)
        return false;
    return err(r.error());
}

template <class Make>
KResult<RefPtr<Inode>> OverlayInode::create_with(std::string_view name, Make make)
{
    if (TRY(lower_has(name)))
        return err(Errno::EXIST);
    auto up = TRY(copy_up());
    bool was_whiteout = up->has_whiteout(name);
    if (was_whiteout)
        TRY(up->remove_whiteout(name));
    auto made = make(*up);
    if (!made) {
        if (was_whiteout)
            (void)up->add_whiteout(name);
        return err(made.error());
    }
    auto* new_upper = static_cast<UpperInode*>(made->get());
    // A directory made where a lower one was deleted must not show it.
    if (was_whiteout && new_upper->is_dir())
        TRY(new_upper->set_opaque());
    return RefPtr<Inode>(make_ref<OverlayInode>(m_fs, RefPtr<OverlayInode>(this), std::string(name), nullptr,
                                                RefPtr<UpperInode>(new_upper)));
}

KResult<RefPtr<Inode>> OverlayInode::create(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    return create_with(name, [&](UpperInode& dir) { return dir.create(name, mode, uid, gid); });
}

KResult<RefPtr<Inode>> OverlayInode::mkdir(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    return create_with(name, [&](UpperInode& dir) { return dir.mkdir(name, mode, uid, gid); });
}

KResult<RefPtr<Inode>> OverlayInode::symlink(std::string_view name, std::string_view target, u32 uid, u32 gid)
{
    return create_with(name, [&](UpperInode& dir) { return dir.symlink(name, target, uid, gid); });
}

KResult<RefPtr<Inode>> OverlayInode::mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid)
{
    return create_with(name, [&](UpperInode& dir) { return dir.mknod(name, mode, rdev, uid, gid); });
}

// In the upper layer, as overlayfs's ovl_tmpfile.
KResult<RefPtr<Inode>> OverlayInode::make_tmpfile(u32 mode, u32 uid, u32 gid, bool linkable)
{
    auto up = TRY(copy_up());
    auto made = TRY(up->make_tmpfile(mode, uid, gid, linkable));
    return RefPtr<Inode>(make_ref<OverlayInode>(m_fs, RefPtr<OverlayInode>(this), std::string(), nullptr,
                                                RefPtr<UpperInode>(static_cast<UpperInode*>(made.get()))));
}

KResult<void> OverlayInode::unlink(std::string_view name)
{
    auto child = TRY(lookup(name));
    if (child->is_dir())
        return err(Errno::ISDIR);
    bool in_lower = TRY(lower_has(name));
    auto up = TRY(copy_up());
    if (static_cast<OverlayInode&>(*child).upper())
        TRY(up->unlink(name));
    if (in_lower)
        TRY(up->add_whiteout(name));
    return {};
}

KResult<void> OverlayInode::rmdir(std::string_view name)
{
    auto child = TRY(lookup(name));
    if (!child->is_dir())
        return err(Errno::NOTDIR);
    if (has_entries(TRY(child->list())))
        return err(Errno::NOTEMPTY);
    bool in_lower = TRY(lower_has(name));
    auto up = TRY(copy_up());
    if (auto child_up = static_cast<OverlayInode&>(*child).upper()) {
        // Empty as the guest sees it: what is left in the upper half are
        // whiteouts, which go first (overlayfs's ovl_clear_empty).
        for (auto& e : TRY(child_up->list()))
            if (e.type == DT_CHR && child_up->has_whiteout(e.name))
                TRY(child_up->remove_whiteout(e.name));
        TRY(up->rmdir(name));
    }
    if (in_lower)
        TRY(up->add_whiteout(name));
    return {};
}

KResult<void> OverlayInode::rename(std::string_view name, Inode& new_dir_inode, std::string_view new_name)
{
    auto& new_dir = static_cast<OverlayInode&>(new_dir_inode);
    auto child_ref = TRY(lookup(name));
    auto& child = static_cast<OverlayInode&>(*child_ref);
    if (child.m_lower && child.is_dir())
        return err(Errno::XDEV);
    bool in_lower = TRY(lower_has(name));
    bool target_in_lower = TRY(new_dir.lower_has(new_name));
    if (target_in_lower) {
        auto target = TRY(new_dir.lookup(new_name));
        if (target->is_dir()) {
            if (!child.is_dir())
                return err(Errno::ISDIR);
            if (has_entries(TRY(target->list())))
                return err(Errno::NOTEMPTY);
        } else if (child.is_dir()) {
            return err(Errno::NOTDIR);
        }
    }
    TRY(child.copy_up());
    auto up = TRY(copy_up());
    auto new_up = TRY(new_dir.copy_up());
    TRY(new_up->remove_whiteout(new_name));
    TRY(up->rename(name, *new_up, new_name));
    if (in_lower)
        TRY(up->add_whiteout(name));
    if (target_in_lower && child.is_dir())
        if (auto moved = new_up->lookup(new_name))
            TRY(static_cast<UpperInode&>(**moved).set_opaque());
    return {};
}

// Both copied up, then swapped in the upper layer. A directory that has a
// lower part, or one moving to a name with a lower directory, would need
// overlayfs's redirects: EXDEV, as for rename.
KResult<void> OverlayInode::exchange(std::string_view name, Inode& other_dir_inode, std::string_view other_name)
{
    auto& other_dir = static_cast<OverlayInode&>(other_dir_inode);
    auto here_ref = TRY(lookup(name));
    auto there_ref = TRY(other_dir.lookup(other_name));
    auto& here = static_cast<OverlayInode&>(*here_ref);
    auto& there = static_cast<OverlayInode&>(*there_ref);
    bool here_lower = TRY(lower_has(name)), there_lower = TRY(other_dir.lower_has(other_name));
    if ((here.is_dir() || there.is_dir()) && (here_lower || there_lower))
        return err(Errno::XDEV);
    TRY(here.copy_up());
    TRY(there.copy_up());
    auto up = TRY(copy_up());
    auto other_up = TRY(other_dir.copy_up());
    return up->exchange(name, *other_up, other_name);
}

KResult<void> OverlayInode::link(Inode& target_inode, std::string_view name)
{
    auto& target = static_cast<OverlayInode&>(target_inode);
    if (TRY(lower_has(name)))
        return err(Errno::EXIST);
    auto target_up = TRY(target.copy_up());
    auto up = TRY(copy_up());
    TRY(up->remove_whiteout(name));
    return up->link(*target_up, name);
}

KResult<std::string> OverlayInode::readlink()
{
    if (auto up = upper())
        return up->readlink();
    return m_lower->readlink();
}

KResult<void> OverlayInode::chmod(u32 mode) { return TRY(copy_up())->chmod(mode); }
KResult<void> OverlayInode::chown(u32 uid, u32 gid) { return TRY(copy_up())->chown(uid, gid); }
KResult<void> OverlayInode::truncate(u64 length)
{
    if (!m_lower || upper())
        return TRY(copy_up())->truncate(length);
    if (is_dir())
        return err(Errno::ISDIR);
    return TRY(copy_up())->truncate(length);
}

KResult<void> OverlayInode::set_times(std::optional<Timespec> atime, std::optional<Timespec> mtime)
{
    return TRY(copy_up())->set_times(atime, mtime);
}

KResult<RefPtr<File>> OverlayInode::open(int flags)
{
    bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (writes && !is_dir())
        return TRY(copy_up())->open(flags);
    if (auto up = upper(); up && !(m_lower && is_dir()))
        return up->open(flags);
    if (is_dir()) // merged listing: the overlay inode answers list()
        return RefPtr<File>(new HostFile(RefPtr<Inode>(this), flags, host::Fd()));
    return m_lower->open(flags);
}

// Extended attributes: the upper layer's once copied up (copy-up takes
// the lower's along), else the lower's.
static bool overlay_private(std::string_view name);

KResult<std::vector<u8>> OverlayInode::get_xattr(std::string_view name)
{
    if (overlay_private(name))
        return err(Errno::NODATA);
    if (auto up = upper())
        return up->get_xattr(name);
    return m_lower->get_xattr(name);
}

KResult<std::vector<std::string>> OverlayInode::list_xattrs()
{
    auto names = TRY(upper() ? upper()->list_xattrs() : m_lower->list_xattrs());
    std::erase_if(names, [](const std::string& n) { return overlay_private(n); });
    return names;
}

// user.overlay.* belongs to the upper layer's format (as Linux overlayfs
// keeps its own xattrs from the files it shows).
static bool overlay_private(std::string_view name) { return name.starts_with("user.overlay."); }

KResult<void> OverlayInode::set_xattr(std::string_view name, std::span<const u8> value, int flags)
{
    if (overlay_private(name))
        return err(Errno::PERM);
    auto up = TRY(copy_up());
    return up->set_xattr(name, value, flags);
}

KResult<void> OverlayInode::remove_xattr(std::string_view name)
{
    if (overlay_private(name))
        return err(Errno::PERM);
    auto up = TRY(copy_up());
    return up->remove_xattr(name);
}

} // namespace umk::kernel
