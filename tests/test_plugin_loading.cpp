// Loading real shared libraries with Boost.DLL: a good plugin loads and works, and every broken
// one is refused with one line that names the file and the cause.
#include <switchboard/core/plugin.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

namespace core = switchboard::core;
namespace fs = std::filesystem;

namespace {

const fs::path fixtures = SWITCHBOARD_FIXTURE_DIR;

fs::path fixture(const std::string& name) { return fixtures / (name + ".so"); }

std::string load_error(const fs::path& file) {
    try {
        core::plugin::load(file);
    } catch (const core::plugin_error& e) {
        return e.what();
    }
    FAIL("loading " << file << " should have failed");
    return {};
}

bool is_mapped(const fs::path& file) {
    std::ifstream maps("/proc/self/maps");
    std::stringstream all;
    all << maps.rdbuf();
    return all.str().find(file.string()) != std::string::npos;
}

// A scratch directory removed at the end of the test.
struct scratch_dir {
    fs::path path = fs::temp_directory_path() / ("switchboard-test-" + std::to_string(::getpid()));
    scratch_dir() { fs::create_directories(path); }
    ~scratch_dir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("a plugin written in C against the frozen ABI 1.0 header loads and works", "[loader]") {
    const auto p = core::plugin::load(fixture("fixture_ok"));
    CHECK(p->manifest().name == "fixture_ok");
    CHECK(p->manifest().channels == std::vector<std::string>{"sms"});
    CHECK(p->manifest().max_recipients_per_call == 10);
    CHECK(p->abi().major == 1);
    CHECK(p->file() == fixture("fixture_ok"));

    const auto instance = p->create_instance("sms-main", "{}");
    const std::string batch = R"({"id":"b1","recipients":[{"id":"0","to":"+85261000000","params":{}}]})";
    const core::plugin_call_result encoded = instance->encode(batch, 0);
    REQUIRE(encoded.ok());
    REQUIRE(encoded.request);
    CHECK(encoded.request->method == "POST");
    CHECK(encoded.request->url == "http://127.0.0.1:1/fixture");
    CHECK(encoded.request->body == batch);
    REQUIRE(encoded.request->headers.size() == 2);
    CHECK(encoded.request->headers[0].name == "Content-Type");

    SECTION("a transient failure keeps the vendor's retry hint") {
        const auto r = instance->decode(batch, core::http_response{503, {}, ""});
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.error == "HTTP 503 from the fixture vendor");
        CHECK(r.retry_after_ms == 1500);
    }
    SECTION("a permanent failure carries no retry hint") {
        const auto r = instance->decode(batch, core::http_response{400, {}, ""});
        CHECK(r.status == SB_STATUS_PERMANENT);
        CHECK(r.retry_after_ms == -1);
    }
    SECTION("optional functions the plugin left out answer unsupported") {
        const auto r = instance->encode_receipt_query(R"({"message_ids":[]})", 0);
        CHECK(r.status == SB_STATUS_UNSUPPORTED);
    }
}

TEST_CASE("each broken plugin is refused with its file and cause", "[loader]") {
    const std::string text = fixture("fixture_text").string();
    CHECK(load_error(fixture("fixture_text")) == text + ": not a shared library (no ELF header)");
    CHECK(load_error(fixtures / "missing.so") == (fixtures / "missing.so").string() + ": not found");
    CHECK(load_error(fixtures) == fixtures.string() + ": not a regular file");
    CHECK(load_error(fixture("fixture_no_entry")) ==
          fixture("fixture_no_entry").string() +
              ": no entry symbol 'switchboard_provider_entry': not a Switchboard provider plugin (a C++ plugin "
              "exports it with SWITCHBOARD_PROVIDER(its class) from <switchboard/sdk/provider.hpp>; a C plugin "
              "defines switchboard_provider_entry with SB_EXPORT)");
    CHECK(load_error(fixture("fixture_entry_null")) ==
          fixture("fixture_entry_null").string() +
              ": the plugin refused this host (ABI 1.1): its entry returned no table");
    CHECK(load_error(fixture("fixture_abi_major_2")) ==
          fixture("fixture_abi_major_2").string() +
              ": ABI major mismatch: the plugin was built for ABI 2.0, this host speaks ABI 1.1; rebuild it "
              "against this SDK");
    CHECK_THAT(load_error(fixture("fixture_small_table")),
               Catch::StartsWith(fixture("fixture_small_table").string() + ": function table too small: struct_size "));
    CHECK(load_error(fixture("fixture_no_encode")) ==
          fixture("fixture_no_encode").string() + ": function table has no 'encode' function");
    CHECK_THAT(load_error(fixture("fixture_manifest_not_json")),
               Catch::StartsWith(fixture("fixture_manifest_not_json").string() + ": manifest is not valid JSON"));
    CHECK(load_error(fixture("fixture_manifest_missing_channels")) ==
          fixture("fixture_manifest_missing_channels").string() + ": manifest field 'channels' is missing");
}

TEST_CASE("a plugin that refuses its configuration says why, in its own words", "[loader]") {
    const auto p = core::plugin::load(fixture("fixture_refuse_create"));
    try {
        p->create_instance("sms-main", "{}");
        FAIL("create should have been refused");
    } catch (const core::plugin_error& e) {
        CHECK(std::string(e.what()) == fixture("fixture_refuse_create").string() +
                                           ": instance 'sms-main' refused its configuration: config.api_key: is required");
    }
}

TEST_CASE("a library stays loaded while an instance from it lives", "[loader]") {
    const fs::path file = fixture("fixture_ok");
    REQUIRE_FALSE(is_mapped(file));
    auto p = core::plugin::load(file);
    auto instance = p->create_instance("a", "{}");
    p.reset();
    CHECK(is_mapped(file));
    CHECK(instance->encode(R"({"id":"b1","recipients":[]})", 0).ok());  // would crash if the library were gone
    instance.reset();
    CHECK_FALSE(is_mapped(file));
}

TEST_CASE("plugins are found by name in the configured directories only", "[loader]") {
    SECTION("by name") {
        const auto p = core::find_plugin("fixture_ok", {"/nonexistent", fixtures});
        CHECK(p->file() == fixture("fixture_ok"));
    }
    SECTION("a name in no directory lists where it looked") {
        CHECK_THROWS_WITH(core::find_plugin("uspeedo", {"/a", "/b"}),
                          "no plugin named 'uspeedo' (file uspeedo.so) in the plugin directories: /a, /b");
    }
    SECTION("a file whose manifest names another plugin is refused") {
        scratch_dir dir;
        fs::copy_file(fixture("fixture_ok"), dir.path / "impostor.so");
        CHECK_THROWS_WITH(core::find_plugin("impostor", {dir.path}),
                          (dir.path / "impostor.so").string() + ": its manifest names it 'fixture_ok', not 'impostor': a "
                          "configuration names a plugin by its file, so rename the file or the manifest's name");
    }
}

TEST_CASE("scanning a directory reports every file, loaded or not", "[loader]") {
    const auto found = core::scan_plugin_dirs({fixtures, "/nonexistent-plugin-dir"});
    int loaded = 0;
    int refused = 0;
    for (const auto& entry : found)
        (entry.loaded ? loaded : refused)++;
    CHECK(loaded == 2);   // fixture_ok and fixture_refuse_create (which loads; it refuses only create)
    CHECK(refused == 10);  // 8 broken libraries (one misnamed), the text file and the missing directory
    CHECK(found.back().error == "/nonexistent-plugin-dir: plugin directory not found");
}
