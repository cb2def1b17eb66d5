#include "kernel/vfs/dentry.h"

#include <algorithm>
#include <sys/stat.h>
#include <vector>

namespace umk::kernel {

RefPtr<Dentry> Dentry::make_root(RefPtr<Inode> inode, std::string name)
{
    return RefPtr<Dentry>(new Dentry(std::move(name), nullptr, std::move(inode)));
}

RefPtr<Dentry> Dentry::make_detached(RefPtr<Inode> inode, std::string name)
{
    RefPtr<Dentry> d(new Dentry(std::move(name), nullptr, std::move(inode)));
    d->m_detached = true;
    return d;
}

bool same_file(Inode& a, Inode& b)
{
    if (&a == &b)
        return true;
    auto x = a.attr();
    auto y = b.attr();
    return x && y && x->dev == y->dev && x->ino == y->ino && ((x->mode ^ y->mode) & S_IFMT) == 0;
}

namespace {

// The file systems a bind mount has shown in two places (their fs_id()s).
std::atomic<usize> g_aliased_count { 0 };
std::mutex g_aliased_lock;
std::vector<const void*> g_aliased; // under g_aliased_lock

void mark_aliased(const void* fs)
{
    std::lock_guard lock(g_aliased_lock);
    if (std::find(g_aliased.begin(), g_aliased.end(), fs) == g_aliased.end()) {
        g_aliased.push_back(fs);
        g_aliased_count.store(g_aliased.size(), std::memory_order_release);
    }
}

} // namespace

bool Dentry::fs_aliased(const void* fs)
{
    if (g_aliased_count.load(std::memory_order_acquire) == 0)
        return false;
    std::lock_guard lock(g_aliased_lock);
    return std::find(g_aliased.begin(), g_aliased.end(), fs) != g_aliased.end();
}

KResult<RefPtr<Dentry>> Dentry::child(std::string_view name)
{
    bool fresh = m_inode->names_change_behind_cache() || fs_aliased(m_inode->fs_id());
    if (!fresh) {
        // (An unhashed dentry's map stays empty.)
        std::unique_lock lock(m_lock);
        if (auto it = m_children.find(name); it != m_children.end()) {
            // Gone or replaced on the host: looked up again, unless
            // something is mounted on it (parent's lock, then the child's).
            if (!it->second->m_inode->stale() || it->second->mounted())
                return it->second;
            lock.unlock();
            forget_child(name);
        }
    }
    auto inode = m_inode->lookup(name);
    if (!inode) {
        if (fresh)
            forget_child(name);
        return err(inode.error());
    }
    return insert_child(name, std::move(*inode), !fresh);
}

RefPtr<Dentry> Dentry::add_child(std::string_view name, RefPtr<Inode> inode)
{
    return insert_child(name, std::move(inode), false);
}

RefPtr<Dentry> Dentry::insert_child(std::string_view name, RefPtr<Inode> inode, bool keep_cached)
{
    std::lock_guard lock(m_lock);
    if (m_unhashed) {
        // A renamed or removed directory's: looked up each time, and so is
        // everything below (a cached child would hold what holds it).
        RefPtr<Dentry> d(new Dentry(std::string(name), RefPtr<Dentry>(this), std::move(inode)));
        d->m_unhashed = true;
        return d;
    }
    if (auto it = m_children.find(name); it != m_children.end()
        && ((keep_cached && !it->second->m_inode->stale()) || it->second->m_inode == inode
            || (fs_aliased(m_inode->fs_id()) && same_file(*it->second->m_inode, *inode))))
        return it->second;
    RefPtr<Dentry> d(new Dentry(std::string(name), RefPtr<Dentry>(this), std::move(inode)));
    m_children.insert_or_assign(std::string(name), d);
    return d;
}

void Dentry::forget_child(std::string_view name)
{
    RefPtr<Dentry> gone;
    {
        std::lock_guard lock(m_lock);
        if (auto it = m_children.find(name); it != m_children.end()) {
            gone = std::move(it->second);
            m_children.erase(it);
        }
    }
    if (gone)
        gone->unhash();
}

RefPtr<Dentry> Dentry::make_bind_root(const RefPtr<Dentry>& source, std::string name)
{
    mark_aliased(source->inode().fs_id());
    return make_root(source->inode_ref(), std::move(name));
}

std::vector<std::pair<std::string, RefPtr<Dentry>>> Dentry::cached_children() const
{
    std::lock_guard lock(m_lock);
    return { m_children.begin(), m_children.end() };
}

void Dentry::unhash()
{
    std::map<std::string, RefPtr<Dentry>, std::less<>> children;
    {
        std::lock_guard lock(m_lock);
        m_unhashed = true;
        children.swap(m_children);
    }
    for (auto& [name, child] : children)
        child->unhash();
}

RefPtr<Dentry> Dentry::mounted() const
{
    if (!m_has_mounted.load(std::memory_order_acquire))
        return nullptr;
    std::lock_guard lock(m_lock);
    return m_mounted;
}

void Dentry::mount(RefPtr<Dentry> root)
{
    std::lock_guard lock(m_lock);
    root->m_mountpoint = this;
    root->m_mountpoint_ref = RefPtr<Dentry>(this);
    m_mounted = std::move(root);
    m_has_mounted.store(true, std::memory_order_release);
}

void Dentry::make_top()
{
    std::lock_guard lock(m_lock);
    m_mountpoint = nullptr;
    m_mountpoint_ref = nullptr;
}

void Dentry::unmount()
{
    RefPtr<Dentry> gone;
    std::lock_guard lock(m_lock);
    gone = std::exchange(m_mounted, nullptr);
    m_has_mounted.store(false, std::memory_order_release);
}

namespace {
std::atomic<bool> g_prune_requested { false };
std::mutex g_prune_lock;
} // namespace

void Dentry::request_prune() { g_prune_requested = true; }

void Dentry::prune_if_requested(const Dentry& any)
{
    if (!g_prune_requested.load(std::memory_order_relaxed))
        return;
    std::unique_lock lock(g_prune_lock, std::try_to_lock);
    if (!lock.owns_lock() || !g_prune_requested.exchange(false))
        return;
    // The global root: up through mount points.
    const Dentry* d = any.mount_root();
    while (d->m_mountpoint)
        d = d->m_mountpoint->mount_root();
    RefPtr<Dentry>(const_cast<Dentry*>(d))->prune_idle();
}

void Dentry::prune_idle()
{
    std::vector<RefPtr<Dentry>> children;
    {
        std::lock_guard lock(m_lock);
        for (auto& [name, child] : m_children)
            children.push_back(child);
    }
    for (auto& child : children) {
        if (auto mounted = child->mounted())
            mounted->prune_idle();
        child->prune_idle();
    }
    children.clear();
    // Idle: only this map holds the child and only the child its inode,
    // with nothing cached or mounted below it. Parent before child, as
    // every lock of ours.
    std::vector<RefPtr<Dentry>> dropped; // destroyed after the lock
    std::lock_guard lock(m_lock);
    for (auto it = m_children.begin(); it != m_children.end();) {
        Dentry& child = *it->second;
        bool idle = child.ref_count() == 1 && child.m_inode->ref_count() == 1;
        if (idle) {
            std::lock_guard child_lock(child.m_lock);
            idle = child.m_children.empty() && !child.m_mounted;
        }
        if (idle) {
            dropped.push_back(std::move(it->second));
            it = m_children.erase(it);
        } else {
            ++it;
        }
    }
}

const Dentry* Dentry::mount_root() const
{
    const Dentry* d = this;
    while (d->m_parent)
        d = d->m_parent.get();
    return d;
}

bool Dentry::has_submounts() const
{
    for (auto& [name, child] : cached_children())
        if (child->mounted() || child->has_submounts())
            return true;
    return false;
}

std::string mount_options_text(u32 flags)
{
    static constexpr std::pair<u32, const char*> kNames[] = {
        { MS_NOSUID, ",nosuid" }, { MS_NODEV, ",nodev" }, { MS_NOEXEC, ",noexec" },
        { MS_NOATIME, ",noatime" }, { MS_NODIRATIME, ",nodiratime" }, { MS_RELATIME, ",relatime" },
    };
    std::string out = (flags & (MS_RDONLY | kSuperReadOnly)) ? "ro" : "rw";
    for (auto [flag, name] : kNames)
        if (flags & flag)
            out += name;
    return out;
}

std::string Dentry::path() const { return path_within(nullptr); }

std::string Dentry::path_within(const Dentry* root) const
{
    if (m_detached)
        return m_name;
    std::vector<const std::string*> names;
    const Dentry* d = this;
    bool reached = root == nullptr;
    for (;;) {
        if (d == root) {
            reached = true;
            break;
        }
        if (d->m_parent) {
            names.push_back(&d->m_name);
            d = d->m_parent.get();
        } else if (d->m_mountpoint) {
            d = d->m_mountpoint;
        } else {
            break;
        }
    }
    std::string out = reached ? "" : "(unreachable)";
    if (names.empty())
        return out + "/";
    for (auto it = names.rbegin(); it != names.rend(); ++it) {
        out += '/';
        out += **it;
    }
    if (m_deleted)
        out += " (deleted)";
    return out;
}

} // namespace umk::kernel
