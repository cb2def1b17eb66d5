#pragma once

// A FIFO of bytes with a capacity (a pipe's buffer): bytes go in and out
// with at most two copies each, and the storage comes with the first byte.

#include "lib/types.h"

#include <span>
#include <vector>

namespace umk {

class ByteRing {
public:
    explicit ByteRing(usize capacity) : m_capacity(capacity) {}

    usize size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    usize capacity() const { return m_capacity; }
    usize room() const { return m_capacity - m_size; }

    // As much of `data` as fits; how much that was.
    usize push(std::span<const u8> data);
    // As much as there is, up to `out.size()`; how much that was.
    usize pop(std::span<u8> out);
    // The same without taking the bytes out.
    usize peek(std::span<u8> out) const;
    // At least size().
    void set_capacity(usize capacity);

private:
    std::vector<u8> m_data; // m_capacity bytes once used
    usize m_capacity;
    usize m_head { 0 }; // index of the oldest byte
    usize m_size { 0 };
};

} // namespace umk
