// cams-simulator: a loopback stand-in for cams.ap-southeast-1.aliyuncs.com, for tests and the
// sandbox demo.
#include "cams_simulator.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"An Alibaba Cloud CAMS API simulator (SendChatappMassMessage, ACS3 and RPC v1 signatures) on loopback"};
    switchboard::simulator::server_options server;
    switchboard::cams_simulator::credentials creds;
    switchboard::simulator::add_server_options(app, server);
    app.add_option("--access-key-id", creds.access_key_id, "The AccessKey ID clients must use")->capture_default_str();
    app.add_option("--access-key-secret", creds.access_key_secret, "The AccessKey secret clients must sign with");
    app.add_option("--cust-space-id", creds.cust_space_id, "The CustSpaceId clients must send")->capture_default_str();
    app.add_option("--requests-per-second", creds.requests_per_second,
                   "Calls per AccessKey ID in any one-second window before Throttling.User")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    switchboard::cams_simulator::cams_api api(creds);
    return switchboard::simulator::run(api, server);
}
