// Alibaba Cloud CAMS's SendChatappMassMessage as the simulator implements it: RPC style on POST /,
// both signatures (ACS3-HMAC-SHA256 and RPC v1 HMAC-SHA1) verified by code of its own, the
// parameters checked as strictly as the vendor documents them, the 10 calls per second limit, and
// the ChatAppStatus receipts CAMS pushes over HTTP.
#pragma once

#include "simulator.hpp"

#include <deque>
#include <map>
#include <optional>
#include <utility>

namespace switchboard::cams_simulator {

struct credentials {
    std::string access_key_id = "sim-access-key";
    std::string access_key_secret = "sim-access-secret";
    std::string cust_space_id = "cams-sim-space";
    std::size_t requests_per_second = 10;
};

class cams_api final : public simulator::vendor_api {
public:
    explicit cams_api(credentials creds) : credentials_(std::move(creds)) {}

    simulator::response handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                               std::int64_t now_unix_ms, boost::json::object& record) override;
    void reset() override;
    // Posts the call's ChatAppStatus reports (record["receipts"]) to `receipt_url` as one JSON array.
    std::vector<core::http_request> receipt_callbacks(const boost::json::object& record,
                                                      const std::string& receipt_url) override;

private:
    // Whether one more call by `access_key_id` at `now` fits the sliding one-second window.
    bool admit(const std::string& access_key_id, std::int64_t now_unix_ms);
    // Whether `nonce` is new within the 15 minutes a signature is valid; remembers it.
    bool fresh_nonce(const std::string& access_key_id, const std::string& nonce, std::int64_t now_unix_ms);

    simulator::response send(const std::map<std::string, std::string>& params, const simulator::faults& settings,
                             std::int64_t now_unix_ms, boost::json::object& record);

    credentials credentials_;
    std::int64_t next_group_ = 1;
    std::map<std::string, std::deque<std::int64_t>> windows_;  // access key id -> admitted call times
    std::map<std::string, std::int64_t> nonces_;                // signature nonce -> when first seen
};

// Decodes %XX (and nothing else: '+' stays '+', as RFC 3986 queries have it); nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view text);

// RFC 3986 percent-encoding, written independently of the plugin's SDK.
std::string percent_encode(std::string_view text);

} // namespace switchboard::cams_simulator
