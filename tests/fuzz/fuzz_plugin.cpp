// One provider plugin's readers of what its vendor sends, through the C ABI as the daemon calls
// them: decode (the answer to a call), parse_receipt (a pushed receipt) and decode_receipt_query
// (the answer to a receipt query). Built once per plugin (FUZZ_PLUGIN). The first byte picks the
// reader, the second the answer's HTTP status; the rest is the body. A plugin must answer every
// input with a status, never a fault or an exception across the ABI.
#include <switchboard/core/http_message.hpp>
#include <switchboard/core/plugin.hpp>

#include <openssl/evp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace core = switchboard::core;

namespace {

struct vendor {
    const char* config;
    const char* batch;
    const char* receipt_url;   // where the vendor posts receipts (its query may be signed below)
};

constexpr const char* recipients =
    R"("recipients": [{"id": "0", "to": "+85261000000", "params": {"code": "123456"}},
                      {"id": "1", "to": "+85261000001", "params": {"code": "654321"}}]})";

vendor vendor_of(std::string_view plugin) {
    static const std::string cams_batch = std::string(R"({"id": "job_f-0-0-1", "job_id": "job_f", "channel": "whatsapp",
        "step": {"template_code": "otp", "language": "en", "params": ["code"]}, )") + recipients;
    static const std::string smn_batch = std::string(R"({"id": "job_f-0-0-1", "job_id": "job_f", "channel": "sms",
        "step": {"template": "0123456789abcdef0123456789abcdef"}, )") + recipients;
    static const std::string uspeedo_batch = std::string(R"({"id": "job_f-0-0-1", "job_id": "job_f", "channel": "sms",
        "step": {"template": "UTA20212831C85C", "sender": "S", "params": ["code"]}, )") + recipients;
    static const std::string vms_batch = std::string(R"({"id": "job_f-0-0-1", "job_id": "job_f", "channel": "voice",
        "step": {"type": 1, "resource": "res-otp", "params": ["code"]}, )") + recipients;
    if (plugin == "cams")
        return {R"({"access_key_id": "ak", "access_key_secret": "sk", "cust_space_id": "cams-f", "from": "8613800000000"})",
                cams_batch.c_str(), "http://127.0.0.1/v1/receipts/cams"};
    if (plugin == "smn")
        return {R"({"region": "cn-north-4", "project_id": "p", "access_key_id": "ak", "secret_access_key": "sk", "sign_id": "s"})",
                smn_batch.c_str(), "http://127.0.0.1/v1/receipts/smn"};
    if (plugin == "uspeedo")
        return {R"({"account_id": 1, "access_key_id": "ak", "access_key_secret": "sk"})", uspeedo_batch.c_str(),
                "http://127.0.0.1/v1/receipts/uspeedo"};
    return {R"({"access_key_id": "ak", "secret_access_key": "sk", "number_pool_no": "NP1", "callback_token": "8D202AC288"})",
            vms_batch.c_str(), "http://127.0.0.1/v1/receipts/vms"};
}

std::string sha256_hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
    std::string out;
    char hex[3];
    for (unsigned int i = 0; i < size; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", digest[i]);
        out += hex;
    }
    return out;
}

// VMS signs its callbacks' URL: sign each input as VMS would, so that the body is read at all.
std::string receipt_url(std::string_view plugin, const vendor& v, std::string_view body, std::int64_t now_ms) {
    if (plugin != "vms")
        return v.receipt_url;
    const std::string timestamp = std::to_string(now_ms / 1000);
    return std::string(v.receipt_url) + "?timestamp=" + timestamp +
           "&authCode=" + sha256_hex(timestamp + sha256_hex(body) + "8D202AC288");
}

std::shared_ptr<core::plugin> loaded;
std::unique_ptr<core::provider_instance> instance;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    loaded = core::plugin::load(std::string(SWITCHBOARD_PLUGIN_DIR) + "/" + FUZZ_PLUGIN + ".so");
    instance = loaded->create_instance("fuzz", vendor_of(FUZZ_PLUGIN).config);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    static constexpr int statuses[] = {200, 200, 200, 400, 401, 403, 404, 429, 500, 502, 503};
    const int status = statuses[data[1] % std::size(statuses)];
    const std::string body(reinterpret_cast<const char*>(data) + 2, size - 2);
    const vendor v = vendor_of(FUZZ_PLUGIN);
    const std::int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    core::http_response response{status, {{"Content-Type", "application/json"}}, body};
    switch (data[0] % 3) {
    case 0: instance->decode(v.batch, response); break;
    case 1:
        instance->parse_receipt({"POST", receipt_url(FUZZ_PLUGIN, v, body, now_ms), {{"Content-Type", "application/json"}}, body},
                                now_ms);
        break;
    default: instance->decode_receipt_query(R"({"message_ids": ["m-1", "m-2"], "since_unix_ms": 0})", response); break;
    }
    return 0;
}
