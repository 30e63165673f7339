#include "plugin_probe.hpp"

#include <switchboard/core/abi_views.hpp>

#include <chrono>
#include <vector>

namespace switchboard::host {

using core::header_views;
using core::request_view;
using core::response_view;
using core::to_sb_str;
using core::view;

namespace {

constexpr sb_abi_version host_abi{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};

// The sb_output of one call. Its callbacks run inside plugin frames: nothing may throw out of them,
// and a copy that fails for want of memory is recorded as the call's problem.
class recording_output {
public:
    recording_output() {
        raw_.struct_size = sizeof raw_;
        raw_.abi = host_abi;
        raw_.context = this;
        raw_.write_json = &on_json;
        raw_.write_request = &on_request;
        raw_.set_error = &on_error;
    }
    recording_output(const recording_output&) = delete;
    recording_output& operator=(const recording_output&) = delete;

    const sb_output* raw() const noexcept { return &raw_; }
    probe_call& call() noexcept { return call_; }

private:
    static probe_call& of(void* context) { return static_cast<recording_output*>(context)->call_; }

    static void on_json(void* context, sb_str json) noexcept {
        probe_call& call = of(context);
        ++call.json_writes;
        try {
            call.json.assign(view(json));
        } catch (...) {
            call.output_problem = "out of memory copying the plugin's document";
        }
    }

    static void on_error(void* context, sb_str message, std::int64_t retry_after_ms) noexcept {
        probe_call& call = of(context);
        ++call.error_writes;
        try {
            call.error.assign(view(message));
        } catch (...) {
        }
        call.retry_after_ms = retry_after_ms;
    }

    static void on_request(void* context, const sb_http_request* request) noexcept {
        probe_call& call = of(context);
        ++call.request_writes;
        if (request == nullptr || !SB_HAS_FIELD(request, sb_http_request, body)) {
            call.output_problem = "it wrote an HTTP request smaller than ABI 1.0's sb_http_request";
            return;
        }
        if (request->header_count > 0 && request->headers == nullptr) {
            call.output_problem = "it wrote an HTTP request with headers but no header array";
            return;
        }
        try {
            core::http_request copy{std::string(view(request->method)), std::string(view(request->url)), {},
                                    std::string(view(request->body))};
            for (std::size_t i = 0; i < request->header_count; ++i)
                copy.headers.push_back({std::string(view(request->headers[i].name)),
                                        std::string(view(request->headers[i].value))});
            call.request = std::move(copy);
        } catch (...) {
            call.output_problem = "out of memory copying the plugin's request";
        }
    }

    sb_output raw_{};
    probe_call call_;
};

template <class Call>
probe_call timed(Call&& call) {
    recording_output out;
    const auto start = std::chrono::steady_clock::now();
    out.call().status = call(out.raw());
    out.call().ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return std::move(out.call());
}

void ignore_log(void*, sb_log_level, sb_str) noexcept {}
const void* no_extension(void*, const char*) noexcept { return nullptr; }

sb_host checker_host() {
    sb_host host{};
    host.struct_size = sizeof host;
    host.abi = host_abi;
    host.instance_name = to_sb_str("check");
    host.log = &ignore_log;
    host.get_extension = &no_extension;
    return host;
}

const sb_host the_host = checker_host();

} // namespace

std::string status_name(sb_status status) {
    static const char* const names[] = {"SB_STATUS_OK",           "SB_STATUS_TRANSIENT",   "SB_STATUS_PERMANENT",
                                        "SB_STATUS_INVALID_CONFIG", "SB_STATUS_AUTHENTICATION", "SB_STATUS_UNSUPPORTED",
                                        "SB_STATUS_INTERNAL"};
    if (status < SB_STATUS_OK || status > SB_STATUS_INTERNAL)
        return "unknown status " + std::to_string(status);
    return names[status];
}

std::string probe_call::contract_problem() const {
    if (status < SB_STATUS_OK || status > SB_STATUS_INTERNAL)
        return "it returned " + status_name(status) + ", which provider.h does not define";
    if (json_writes > 1)
        return "it called write_json " + std::to_string(json_writes) + " times; a call writes its result at most once";
    if (request_writes > 1)
        return "it called write_request " + std::to_string(request_writes) + " times; a call writes at most one request";
    if (error_writes > 1)
        return "it called set_error " + std::to_string(error_writes) + " times; a call sets its error at most once";
    if (!output_problem.empty())
        return output_problem;
    if (status != SB_STATUS_OK && error.empty())
        return "it failed with " + status_name(status) + " but gave no reason (set_error with a message)";
    if (status == SB_STATUS_OK && error_writes > 0)
        return "it succeeded but also set an error (\"" + error.substr(0, 120) + "\")";
    return {};
}

probe_call plugin_probe::manifest() const {
    return timed([&](const sb_output* out) { return table_.manifest(out); });
}

probe_call plugin_probe::create(std::string_view config_json, sb_instance** instance) const {
    return timed([&](const sb_output* out) { return table_.create(&the_host, to_sb_str(config_json), instance, out); });
}

probe_call plugin_probe::validate(sb_instance* instance, std::string_view request_json) const {
    return timed([&](const sb_output* out) { return table_.validate(instance, to_sb_str(request_json), out); });
}

probe_call plugin_probe::encode(sb_instance* instance, std::string_view batch_json, std::int64_t now_unix_ms) const {
    return timed([&](const sb_output* out) { return table_.encode(instance, to_sb_str(batch_json), now_unix_ms, out); });
}

probe_call plugin_probe::decode(sb_instance* instance, std::string_view batch_json,
                                const core::http_response& response) const {
    const std::vector<sb_header> headers = header_views(response.headers);
    const sb_http_response raw = response_view(response, headers);
    return timed([&](const sb_output* out) { return table_.decode(instance, to_sb_str(batch_json), &raw, out); });
}

probe_call plugin_probe::parse_receipt(sb_instance* instance, const core::http_request& callback,
                                       std::int64_t now_unix_ms) const {
    const std::vector<sb_header> headers = header_views(callback.headers);
    const sb_http_request raw = request_view(callback, headers);
    return timed([&](const sb_output* out) { return table_.parse_receipt(instance, &raw, now_unix_ms, out); });
}

probe_call plugin_probe::encode_receipt_query(sb_instance* instance, std::string_view query_json,
                                              std::int64_t now_unix_ms) const {
    return timed([&](const sb_output* out) {
        return table_.encode_receipt_query(instance, to_sb_str(query_json), now_unix_ms, out);
    });
}

probe_call plugin_probe::decode_receipt_query(sb_instance* instance, std::string_view query_json,
                                              const core::http_response& response) const {
    const std::vector<sb_header> headers = header_views(response.headers);
    const sb_http_response raw = response_view(response, headers);
    return timed([&](const sb_output* out) {
        return table_.decode_receipt_query(instance, to_sb_str(query_json), &raw, out);
    });
}

} // namespace switchboard::host
