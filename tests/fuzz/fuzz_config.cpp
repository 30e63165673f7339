// The daemon's configuration file as `serve` and `config check` read it (comments and trailing
// commas allowed, ${env:...} and ${file:...} resolved, every setting checked).
#include "config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace switchboard::host;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        read_config(std::string_view(reinterpret_cast<const char*>(data), size), "/fuzz/switchboard.json");
    } catch (const config_error&) {
    }
    return 0;
}
