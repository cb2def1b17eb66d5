#include "kernel/vfs/dentry.h"

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

KResult<RefPtr<Dentry>> Dentry::child(std::string_view name)
{
    {
        std::lock_guard lock(m_lock);
        if (auto it = m_children.find(name); it != m_children.end())
            return it->second;
    }
    auto inode = TRY(m_inode->lookup(name));
    return add_child(name, std::move(inode));
}

RefPtr<Dentry> Dentry::add_child(std::string_view name, RefPtr<Inode> inode)
{
    std::lock_guard lock(m_lock);
    if (auto it = m_children.find(name); it != m_children.end() && it->second->m_inode == inode)
        return it->second;
    RefPtr<Dentry> d(new Dentry(std::string(name), RefPtr<Dentry>(this), std::move(inode)));
    m_children.insert_or_assign(std::string(name), d);
    return d;
}

void Dentry::forget_child(std::string_view name)
{
    std::lock_guard lock(m_lock);
    if (auto it = m_children.find(name); it != m_children.end())
        m_children.erase(it);
}

RefPtr<Dentry> Dentry::mounted() const
{
    std::lock_guard lock(m_lock);
    return m_mounted;
}

void Dentry::mount(RefPtr<Dentry> root)
{
    std::lock_guard lock(m_lock);
    root->m_mountpoint = this;
    root->m_mountpoint_ref = RefPtr<Dentry>(this);
    m_mounted = std::move(root);
}

void Dentry::unmount()
{
    RefPtr<Dentry> gone;
    std::lock_guard lock(m_lock);
    gone = std::exchange(m_mounted, nullptr);
}

bool Dentry::has_submounts() const
{
    std::vector<RefPtr<Dentry>> children;
    {
        std::lock_guard lock(m_lock);
        for (auto& [name, child] : m_children)
            children.push_back(child);
    }
    for (auto& child : children)
        if (child->mounted() || child->has_submounts())
            return true;
    return false;
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
