#include "lib/byte_ring.h"

#include <algorithm>
#include <cstring>

namespace umk {

usize ByteRing::push(std::span<const u8> data)
{
    usize n = std::min(data.size(), room());
    if (n == 0)
        return 0;
    if (m_data.size() != m_capacity)
        m_data.resize(m_capacity);
    usize tail = (m_head + m_size) % m_capacity;
    usize first = std::min(n, m_capacity - tail);
    std::memcpy(m_data.data() + tail, data.data(), first);
    std::memcpy(m_data.data(), data.data() + first, n - first);
    m_size += n;
    return n;
}

usize ByteRing::peek(std::span<u8> out) const
{
    usize n = std::min(out.size(), m_size);
    if (n == 0)
        return 0;
    usize first = std::min(n, m_capacity - m_head);
    std::memcpy(out.data(), m_data.data() + m_head, first);
    std::memcpy(out.data() + first, m_data.data(), n - first);
    return n;
}

usize ByteRing::pop(std::span<u8> out)
{
    usize n = peek(out);
    if (n == 0)
        return 0;
    m_head = (m_head + n) % m_capacity;
    m_size -= n;
    if (m_size == 0)
        m_head = 0;
    return n;
}

void ByteRing::set_capacity(usize capacity)
{
    if (capacity < m_size)
        return;
    std::vector<u8> data;
    usize size = m_size;
    if (size > 0) {
        data.resize(capacity);
        pop(std::span(data.data(), size));
    }
    m_data = std::move(data);
    m_capacity = capacity;
    m_head = 0;
    m_size = size;
}

} // namespace umk
