#include <switchboard/core/allocator_tuning.hpp>

#include <cstdlib>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace switchboard::core {

void tune_allocator_for_calls() {
#if defined(__GLIBC__)
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables != nullptr && std::string_view(tunables).find("glibc.malloc.") != std::string_view::npos)
        return;
    for (const char* legacy : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"})
        if (std::getenv(legacy) != nullptr)
            return;
    constexpr int mmap_threshold = 1 << 20;
    constexpr int trim_threshold = 4 << 20;
    ::mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    ::mallopt(M_TRIM_THRESHOLD, trim_threshold);
#endif
}

} // namespace switchboard::core
