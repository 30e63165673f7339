// A provider plugin's shared library, opened as it is: the file checked to be a library, loaded,
// and its entry point found, before any judgement of what the entry answers. plugin::load builds
// on it; so does the conformance checker, which must see a table the host would refuse.
#pragma once

#include <switchboard/provider.h>

#include <filesystem>
#include <memory>
#include <stdexcept>

namespace switchboard::core {

// Why a plugin could not be loaded or used, in one line that names the file: "/x/y.so: not a
// shared library (no ELF header)".
class plugin_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class provider_library {
public:
    // Loads `file` (made absolute: dlopen never searches the system's paths) with every symbol
    // bound now, and finds SB_ENTRY_SYMBOL. Throws plugin_error: not found, not a shared library,
    // cannot be loaded, no entry symbol.
    static provider_library open(const std::filesystem::path& file);

    const std::filesystem::path& file() const noexcept { return file_; }
    // The plugin's entry point; the library stays loaded while any copy of this object lives.
    sb_entry_fn entry() const noexcept { return entry_; }

private:
    struct handle;
    provider_library(std::filesystem::path file, std::shared_ptr<handle> loaded, sb_entry_fn entry)
        : file_(std::move(file)), handle_(std::move(loaded)), entry_(entry) {}

    std::filesystem::path file_;
    std::shared_ptr<handle> handle_;
    sb_entry_fn entry_ = nullptr;
};

} // namespace switchboard::core
