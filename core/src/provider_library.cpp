#include <switchboard/core/provider_library.hpp>

#include <boost/dll/shared_library.hpp>

#include <array>
#include <fstream>

namespace switchboard::core {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& file, const std::string& cause) {
    throw plugin_error(file.string() + ": " + cause);
}

bool has_elf_header(const fs::path& file) {
    std::array<char, 4> magic{};
    std::ifstream in(file, std::ios::binary);
    return in.read(magic.data(), magic.size()) && magic == std::array<char, 4>{'\x7f', 'E', 'L', 'F'};
}

} // namespace

struct provider_library::handle {
    boost::dll::shared_library dll;
};

provider_library provider_library::open(const fs::path& requested) {
    std::error_code ec;
    const fs::path file = fs::absolute(requested, ec).lexically_normal();
    if (ec || !fs::exists(file, ec))
        fail(requested, "not found");
    if (!fs::is_regular_file(file, ec))
        fail(file, "not a regular file");
    if (!has_elf_header(file))
        fail(file, "not a shared library (no ELF header)");

    auto loaded = std::make_shared<handle>();
    try {
        loaded->dll.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        fail(file, std::string("cannot be loaded: ") + e.what());
    }
    if (!loaded->dll.has(SB_ENTRY_SYMBOL))
        fail(file, std::string("no entry symbol '") + SB_ENTRY_SYMBOL +
                       "': not a Switchboard provider plugin (a C++ plugin exports it with "
                       "SWITCHBOARD_PROVIDER(its class) from <switchboard/sdk/provider.hpp>; a C plugin defines "
                       "switchboard_provider_entry with SB_EXPORT)");
    const sb_entry_fn entry = &loaded->dll.get<const sb_provider*(sb_abi_version)>(SB_ENTRY_SYMBOL);
    return provider_library(file, std::move(loaded), entry);
}

} // namespace switchboard::core
