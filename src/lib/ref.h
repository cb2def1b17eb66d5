#pragma once

// Intrusive reference counting for shared kernel objects (inodes, open
// files, address spaces), after SerenityOS's RefPtr.

#include <atomic>
#include <utility>

namespace umk {

class RefCounted {
public:
    RefCounted() = default;
    RefCounted(const RefCounted&) = delete;
    RefCounted& operator=(const RefCounted&) = delete;
    virtual ~RefCounted() = default;

    void ref() const { m_refs.fetch_add(1, std::memory_order_relaxed); }
    // A reference unless the last one is already gone (a non-owning
    // pointer's way to a strong one; adopt it with RefPtr::adopt).
    bool try_ref() const
    {
        long n = m_refs.load(std::memory_order_relaxed);
        while (n > 0)
            if (m_refs.compare_exchange_weak(n, n + 1, std::memory_order_acquire))
                return true;
        return false;
    }
    // How many references there are right now: a hint (it may change at
    // once), for caches that drop what only they hold.
    long ref_count() const { return m_refs.load(std::memory_order_acquire); }
    void unref() const
    {
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

private:
    mutable std::atomic<long> m_refs { 0 };
};

template <class T>
class RefPtr {
public:
    RefPtr() = default;
    RefPtr(std::nullptr_t) {}
    RefPtr(T* p) : m_ptr(p) { if (m_ptr) m_ptr->ref(); }
    RefPtr(const RefPtr& o) : RefPtr(o.m_ptr) {}
    RefPtr(RefPtr&& o) noexcept : m_ptr(std::exchange(o.m_ptr, nullptr)) {}
    template <class U>
    RefPtr(const RefPtr<U>& o) : RefPtr(o.get()) {}
    ~RefPtr() { if (m_ptr) m_ptr->unref(); }
    RefPtr& operator=(RefPtr o) noexcept
    {
        std::swap(m_ptr, o.m_ptr);
        return *this;
    }

    // Takes over a reference the caller holds (try_ref).
    static RefPtr adopt(T* p)
    {
        RefPtr r;
        r.m_ptr = p;
        return r;
    }

    T* get() const { return m_ptr; }
    T* operator->() const { return m_ptr; }
    T& operator*() const { return *m_ptr; }
    explicit operator bool() const { return m_ptr != nullptr; }
    bool operator==(const RefPtr& o) const { return m_ptr == o.m_ptr; }

private:
    T* m_ptr { nullptr };
};

template <class T, class... Args>
RefPtr<T> make_ref(Args&&... args)
{
    return RefPtr<T>(new T(std::forward<Args>(args)...));
}

template <class T, class U>
RefPtr<T> ref_cast(const RefPtr<U>& p)
{
    return RefPtr<T>(dynamic_cast<T*>(p.get()));
}

} // namespace umk
