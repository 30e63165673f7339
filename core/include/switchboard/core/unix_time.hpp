// The wall clock as the store and the vendors count it: milliseconds since 1970 (UTC).
#pragma once

#include <chrono>
#include <cstdint>

namespace switchboard::core {

inline std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace switchboard::core
