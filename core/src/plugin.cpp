#include <switchboard/core/plugin.hpp>

#include <switchboard/core/abi_views.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace switchboard::core {
namespace fs = std::filesystem;

namespace {

constexpr sb_abi_version host_abi{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};

std::string to_string(sb_abi_version v) { return std::to_string(v.major) + "." + std::to_string(v.minor); }

[[noreturn]] void fail(const fs::path& file, const std::string& cause) {
    throw plugin_error(file.string() + ": " + cause);
}

// The host side of sb_output: collects what the plugin writes during one call. The callbacks are
// noexcept because they run inside plugin frames, where no C++ exception may travel.
class output_collector {
public:
    output_collector() {
        raw_.struct_size = sizeof raw_;
        raw_.abi = host_abi;
        raw_.context = this;
        raw_.write_json = &on_json;
        raw_.write_request = &on_request;
        raw_.set_error = &on_error;
    }
    output_collector(const output_collector&) = delete;
    output_collector& operator=(const output_collector&) = delete;

    const sb_output* raw() const noexcept { return &raw_; }

    plugin_call_result finish(sb_status status) {
        result_.status = status;
        if (writes_ > 1 || error_writes_ > 1)
            result_.breach = "second_write";
        if (status < SB_STATUS_OK || status > SB_STATUS_INTERNAL) {
            result_.breach = "unknown_status";
            result_.error = "the plugin returned an unknown status code " + std::to_string(status) +
                            (result_.error.empty() ? "" : ": " + result_.error);
            result_.status = SB_STATUS_INTERNAL;
        } else if (status == SB_STATUS_OK && !problem_.empty()) {
            result_.status = SB_STATUS_INTERNAL;
            result_.error = problem_;
        } else if (status != SB_STATUS_OK && result_.error.empty()) {
            result_.error = "the plugin failed with status " + std::to_string(status) + " and gave no reason";
        }
        if (result_.status != SB_STATUS_TRANSIENT)
            result_.retry_after_ms = -1;
        return std::move(result_);
    }

private:
    static output_collector& self(void* context) { return *static_cast<output_collector*>(context); }

    static void on_json(void* context, sb_str json) noexcept {
        ++self(context).writes_;
        try {
            self(context).result_.json.assign(view(json));
        } catch (...) {
            self(context).problem_ = "out of memory copying the plugin's result";
        }
    }

    static void on_error(void* context, sb_str message, std::int64_t retry_after_ms) noexcept {
        ++self(context).error_writes_;
        try {
            self(context).result_.error.assign(view(message));
            self(context).result_.retry_after_ms = retry_after_ms < 0 ? -1 : retry_after_ms;
        } catch (...) {
            self(context).problem_ = "out of memory copying the plugin's error";
        }
    }

    static void on_request(void* context, const sb_http_request* request) noexcept {
        output_collector& me = self(context);
        ++me.writes_;
        if (request == nullptr || !SB_HAS_FIELD(request, sb_http_request, body)) {
            me.problem_ = "the plugin wrote an HTTP request smaller than ABI 1.0's sb_http_request";
            return;
        }
        if (request->header_count > 0 && request->headers == nullptr) {
            me.problem_ = "the plugin wrote an HTTP request with headers but no header array";
            return;
        }
        try {
            http_request copy{std::string(view(request->method)), std::string(view(request->url)), {},
                              std::string(view(request->body))};
            copy.headers.reserve(request->header_count);
            for (std::size_t i = 0; i < request->header_count; ++i)
                copy.headers.push_back({std::string(view(request->headers[i].name)),
                                        std::string(view(request->headers[i].value))});
            me.result_.request = std::move(copy);
        } catch (...) {
            me.problem_ = "out of memory copying the plugin's request";
        }
    }

    sb_output raw_{};
    plugin_call_result result_;
    std::string problem_;
    int writes_ = 0;         // write_json and write_request: a call writes one result
    int error_writes_ = 0;
};

void log_from_plugin(void* context, sb_log_level level, sb_str message) noexcept {
    try {
        const auto* host = static_cast<const sb_host*>(context);
        const spdlog::level::level_enum spd = level <= SB_LOG_DEBUG     ? spdlog::level::debug
                                              : level == SB_LOG_INFO    ? spdlog::level::info
                                              : level == SB_LOG_WARNING ? spdlog::level::warn
                                                                        : spdlog::level::err;
        spdlog::log(spd, "[{}] {}", view(host->instance_name), view(message));
    } catch (...) {
        // Logging must never take the caller down; a lost line is the lesser harm.
    }
}

const void* no_host_extension(void*, const char*) noexcept { return nullptr; }

// The plugin's extension switchboard.message_ids/1, when it offers one that keeps the rules.
const sb_ext_message_ids* message_ids_extension(const fs::path& file, const sb_provider* table) {
    if (table->get_extension == nullptr)
        return nullptr;
    const auto* ext = static_cast<const sb_ext_message_ids*>(table->get_extension(SB_EXT_MESSAGE_IDS));
    if (ext == nullptr)
        return nullptr;
    if (ext->struct_size < offsetof(sb_ext_message_ids, message_ids) + sizeof(ext->message_ids) || ext->message_ids == nullptr)
        fail(file, std::string("extension ") + SB_EXT_MESSAGE_IDS + " is too small or has no message_ids function");
    return ext;
}

void check_function_table(const fs::path& file, const sb_provider* table) {
    if (table->abi.major != SB_ABI_VERSION_MAJOR)
        fail(file, "ABI major mismatch: the plugin was built for ABI " + to_string(table->abi) +
                       ", this host speaks ABI " + to_string(host_abi) + "; rebuild it against this SDK");
    const std::size_t v1_size = offsetof(sb_provider, get_extension) + sizeof(table->get_extension);
    if (table->struct_size < v1_size)
        fail(file, "function table too small: struct_size " + std::to_string(table->struct_size) +
                       ", ABI 1.0 needs at least " + std::to_string(v1_size));
    const std::pair<const void*, const char*> required[] = {
        {reinterpret_cast<const void*>(table->manifest), "manifest"},
        {reinterpret_cast<const void*>(table->create), "create"},
        {reinterpret_cast<const void*>(table->destroy), "destroy"},
        {reinterpret_cast<const void*>(table->validate), "validate"},
        {reinterpret_cast<const void*>(table->encode), "encode"},
        {reinterpret_cast<const void*>(table->decode), "decode"},
    };
    for (const auto& [function, name] : required)
        if (function == nullptr)
            fail(file, std::string("function table has no '") + name + "' function");
}

} // namespace

plugin::plugin(provider_library lib, const sb_provider* table)
    : file_(lib.file()), library_(std::move(lib)), table_(table) {}

plugin::~plugin() = default;

sb_abi_version plugin::abi() const noexcept { return table_->abi; }

std::shared_ptr<plugin> plugin::load(const fs::path& requested) {
    provider_library lib = provider_library::open(requested);
    const fs::path file = lib.file();
    const sb_provider* table = lib.entry()(host_abi);
    if (table == nullptr)
        fail(file, "the plugin refused this host (ABI " + to_string(host_abi) + "): its entry returned no table");
    check_function_table(file, table);

    std::shared_ptr<plugin> loaded(new plugin(std::move(lib), table));
    output_collector out;
    const plugin_call_result manifest = out.finish(table->manifest(out.raw()));
    if (!manifest.ok())
        fail(file, "manifest() failed: " + manifest.error);
    try {
        loaded->manifest_ = parse_plugin_manifest(manifest.json);
    } catch (const std::invalid_argument& e) {
        fail(file, e.what());
    }
    if (loaded->manifest_.abi != to_string(table->abi))
        fail(file, "manifest field 'abi' says " + loaded->manifest_.abi + " but the function table says " +
                       to_string(table->abi));
    loaded->message_ids_ = message_ids_extension(file, table);
    return loaded;
}

std::unique_ptr<provider_instance> plugin::create_instance(std::string instance_name, std::string_view config_json) const {
    std::unique_ptr<provider_instance> instance(new provider_instance(shared_from_this(), std::move(instance_name)));
    output_collector out;
    sb_instance* created = nullptr;
    const plugin_call_result result =
        out.finish(table_->create(&instance->host_, to_sb_str(config_json), &created, out.raw()));
    if (!result.ok())
        fail(file_, "instance '" + instance->name() + "' refused its configuration: " + result.error);
    if (created == nullptr)
        fail(file_, "instance '" + instance->name() + "': create() succeeded but returned no instance");
    instance->instance_ = created;
    return instance;
}

class provider_instance::call_guard {
public:
    explicit call_guard(const provider_instance& instance) {
        if (!instance.plugin_->manifest().thread_safe)
            lock_ = std::unique_lock(instance.calls_);
    }

private:
    std::unique_lock<std::mutex> lock_;
};

provider_instance::provider_instance(std::shared_ptr<const plugin> owner, std::string name)
    : plugin_(std::move(owner)), name_(std::move(name)) {
    host_.struct_size = sizeof host_;
    host_.abi = host_abi;
    host_.context = &host_;
    host_.instance_name = to_sb_str(name_);
    host_.log = &log_from_plugin;
    host_.get_extension = &no_host_extension;
}

provider_instance::~provider_instance() {
    if (instance_ != nullptr)
        plugin_->table_->destroy(instance_);
}

plugin_call_result provider_instance::validate(std::string_view request_json) const {
    const call_guard guard(*this);
    output_collector out;
    return out.finish(plugin_->table_->validate(instance_, to_sb_str(request_json), out.raw()));
}

plugin_call_result provider_instance::encode(std::string_view batch_json, std::int64_t now_unix_ms) const {
    const call_guard guard(*this);
    output_collector out;
    plugin_call_result result = out.finish(plugin_->table_->encode(instance_, to_sb_str(batch_json), now_unix_ms, out.raw()));
    if (result.ok() && !result.request)
        return {SB_STATUS_INTERNAL, {}, {}, "encode() succeeded but wrote no request", -1, "no_request"};
    return result;
}

plugin_call_result provider_instance::decode(std::string_view batch_json, const http_response& response) const {
    const call_guard guard(*this);
    const std::vector<sb_header> headers = header_views(response.headers);
    const sb_http_response raw = response_view(response, headers);
    output_collector out;
    return out.finish(plugin_->table_->decode(instance_, to_sb_str(batch_json), &raw, out.raw()));
}

plugin_call_result provider_instance::parse_receipt(const http_request& callback, std::int64_t now_unix_ms) const {
    const call_guard guard(*this);
    if (plugin_->table_->parse_receipt == nullptr)
        return {SB_STATUS_UNSUPPORTED, {}, {}, "this provider does not take pushed receipts", -1, {}};
    const std::vector<sb_header> headers = header_views(callback.headers);
    const sb_http_request raw = request_view(callback, headers);
    output_collector out;
    return out.finish(plugin_->table_->parse_receipt(instance_, &raw, now_unix_ms, out.raw()));
}

plugin_call_result provider_instance::encode_receipt_query(std::string_view query_json, std::int64_t now_unix_ms) const {
    const call_guard guard(*this);
    if (plugin_->table_->encode_receipt_query == nullptr)
        return {SB_STATUS_UNSUPPORTED, {}, {}, "this provider does not offer receipt queries", -1, {}};
    output_collector out;
    return out.finish(plugin_->table_->encode_receipt_query(instance_, to_sb_str(query_json), now_unix_ms, out.raw()));
}

plugin_call_result provider_instance::message_ids(std::string_view batch_json) const {
    if (plugin_->message_ids_ == nullptr)
        return {SB_STATUS_UNSUPPORTED, {}, {}, "this provider cannot name its messages without the vendor's answer", -1, {}};
    const call_guard guard(*this);
    output_collector out;
    return out.finish(plugin_->message_ids_->message_ids(instance_, to_sb_str(batch_json), out.raw()));
}

plugin_call_result provider_instance::decode_receipt_query(std::string_view query_json, const http_response& response) const {
    const call_guard guard(*this);
    if (plugin_->table_->decode_receipt_query == nullptr)
        return {SB_STATUS_UNSUPPORTED, {}, {}, "this provider does not offer receipt queries", -1, {}};
    const std::vector<sb_header> headers = header_views(response.headers);
    const sb_http_response raw = response_view(response, headers);
    output_collector out;
    return out.finish(plugin_->table_->decode_receipt_query(instance_, to_sb_str(query_json), &raw, out.raw()));
}

} // namespace switchboard::core
