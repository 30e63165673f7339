// cams-simulator: a loopback stand-in for cams.ap-southeast-1.aliyuncs.com, for tests and the
// sandbox demo.
#include "cams_simulator.hpp"

int main(int argc, char** argv) {
    switchboard::simulator::command_line cli(
        "An Alibaba Cloud CAMS API simulator (SendChatappMassMessage, ACS3 and RPC v1 signatures) on loopback");
    switchboard::simulator::server_options server;
    switchboard::cams_simulator::credentials creds;
    cli.add("--access-key-id", creds.access_key_id, "The AccessKey ID clients must use");
    cli.add("--access-key-secret", creds.access_key_secret, "The AccessKey secret clients must sign with");
    cli.add("--cust-space-id", creds.cust_space_id, "The CustSpaceId clients must send");
    cli.add("--requests-per-second", creds.requests_per_second,
            "Calls per AccessKey ID in any one-second window before Throttling.User");
    if (const std::optional<int> exit_code = cli.parse(argc, argv, server))
        return *exit_code;

    switchboard::cams_simulator::cams_api api(creds);
    return switchboard::simulator::run(api, server);
}
