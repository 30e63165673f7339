// The uSpeedo API as the simulator implements it: SendBatchUSMSMessage and GetUSMSSendReceipt on
// both endpoint styles, checked as strictly as the vendor documents them. Receipts are pulled
// (GetUSMSSendReceipt): uSpeedo documents no push, so the simulator pushes nothing.
#pragma once

#include "simulator.hpp"

#include <map>

namespace switchboard::uspeedo_simulator {

struct credentials {
    std::string access_key_id = "sim-access-key";
    std::string access_key_secret = "sim-access-secret";
    std::int64_t account_id = 1;
};

class uspeedo_api final : public simulator::vendor_api {
public:
    uspeedo_api(credentials creds, std::int64_t receipt_delay_ms)
        : credentials_(std::move(creds)), receipt_delay_ms_(receipt_delay_ms) {}

    simulator::response handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                               std::int64_t now_unix_ms, boost::json::object& record) override;
    void reset() override;

private:
    enum class receipt { delivered, undelivered, never };  // what the number's receipt will say

    struct accepted_message {
        std::string phone;
        std::string user_id;
        std::int64_t accepted_at_ms;
        receipt fate;
    };

    simulator::response send_batch(const boost::json::object& body, const simulator::faults& settings,
                                   std::int64_t now_unix_ms, boost::json::object& record);
    simulator::response receipts(const boost::json::object& body, std::int64_t now_unix_ms, boost::json::object& record);

    credentials credentials_;
    std::int64_t receipt_delay_ms_;
    std::int64_t next_session_ = 1;
    std::map<std::string, std::vector<accepted_message>> sessions_;
};

// The vendor's signature over a request body, computed independently of the plugin:
// hex(SHA1(concatenation over sorted keys of key + flattened value, then the secret)).
std::string signature(const boost::json::object& body, const std::string& secret);

} // namespace switchboard::uspeedo_simulator
