// Huawei Cloud SMN's legacy SMS API as the simulator implements it: PromotionSmsPublish and the
// SMS report list, behind the API gateway's SDK-HMAC-SHA256 (or X-Auth-Token) check, as strictly
// as the vendor documents them (shared/seeds/004, VENDORS.md §4).
#pragma once

#include "simulator.hpp"

#include <vector>

namespace switchboard::smn_simulator {

struct credentials {
    std::string access_key_id = "sim-access-key";
    std::string secret_access_key = "sim-secret-key";
    std::string project_id = "sim-project";
    std::string auth_token = "sim-auth-token";   // the X-Auth-Token accepted instead of a signature
};

class smn_api final : public simulator::vendor_api {
public:
    smn_api(credentials creds, std::int64_t receipt_delay_ms)
        : credentials_(std::move(creds)), receipt_delay_ms_(receipt_delay_ms) {}

    simulator::response handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                               std::int64_t now_unix_ms, boost::json::object& record) override;
    void reset() override;

private:
    struct accepted_message {
        std::string message_id;
        std::string endpoint;      // as received
        std::string sign_id;
        std::string extend_code;
        std::int64_t accepted_at_ms;
    };

    simulator::response publish(const simulator::request& call, const simulator::faults& settings,
                                std::int64_t now_unix_ms, boost::json::object& record);
    simulator::response report(const simulator::request& call, std::int64_t now_unix_ms, boost::json::object& record);

    credentials credentials_;
    std::int64_t receipt_delay_ms_;
    std::uint64_t next_id_ = 1;
    std::vector<accepted_message> accepted_;
};

// The problem with the request's authentication (SDK-HMAC-SHA256 recomputed from what was
// received, independently of the plugin, or X-Auth-Token), or an empty string when it is good.
std::string authentication_problem(const simulator::request& call, const credentials& creds, std::int64_t now_unix_ms);

} // namespace switchboard::smn_simulator
