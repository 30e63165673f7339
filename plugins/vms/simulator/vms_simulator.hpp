// The Volcengine VMS API as the simulator implements it: SingleBatchAppend, with the gateway's V4
// signature check and the documented envelope, as strict as VENDORS.md §1 describes the vendor, and
// the signed CDR callbacks VMS pushes when a call ends.
#pragma once

#include "simulator.hpp"

#include <set>

namespace switchboard::vms_simulator {

struct credentials {
    std::string access_key_id = "sim-access-key";
    std::string secret_access_key = "sim-secret-key";
    std::string region = "cn-north-1";
    std::string callback_token = "sim-callback-token";  // the console's authToken for CDR callbacks
};

class vms_api final : public simulator::vendor_api {
public:
    explicit vms_api(credentials creds) : credentials_(std::move(creds)) {}

    simulator::response handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                               std::int64_t now_unix_ms, boost::json::object& record) override;
    void reset() override;
    // Posts each accepted call's signed CDR (record["callbacks"]) to `receipt_url`.
    std::vector<core::http_request> receipt_callbacks(const boost::json::object& record,
                                                      const std::string& receipt_url) override;

private:
    simulator::response single_batch_append(const boost::json::object& body, const simulator::faults& settings,
                                            std::int64_t now_unix_ms, boost::json::object& record);
    // The call-record (CDR) callback VMS would post for a finished call with `call_result` (1
    // answered, 7 no answer): its query (timestamp and authCode) and its body.
    boost::json::object cdr_callback(const std::string& phone, const std::string& open_id, std::int64_t call_result,
                                     std::int64_t now_unix_ms);
    simulator::response envelope(int status, const boost::json::object* error, boost::json::object result = {});

    credentials credentials_;
    std::int64_t next_request_ = 1;
    std::int64_t next_call_ = 1;  // VMS's callId is per call, not per request
    std::set<std::string> accepted_open_ids_;
};

// Why the request's V4 signature does not hold, or "" when it does. Computed independently of the
// plugin's signer, from the request as received. `code` is set to the gateway's error code.
std::string check_signature(const simulator::request& call, const credentials& creds, std::int64_t now_unix_ms,
                            std::string& code);

} // namespace switchboard::vms_simulator
