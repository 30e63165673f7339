// smn-simulator: a loopback stand-in for smn.{region}.myhuaweicloud.com's legacy SMS API, for tests
// and the sandbox demo.
#include "smn_simulator.hpp"

int main(int argc, char** argv) {
    switchboard::simulator::command_line cli(
        "A Huawei Cloud SMN SMS API simulator (PromotionSmsPublish, SMS report list) on loopback");
    switchboard::simulator::server_options server;
    switchboard::smn_simulator::credentials creds;
    cli.add("--access-key-id", creds.access_key_id, "The AK clients must sign with");
    cli.add("--secret-access-key", creds.secret_access_key, "The SK clients must sign with");
    cli.add("--project-id", creds.project_id, "The project id the paths must name");
    cli.add("--auth-token", creds.auth_token, "The X-Auth-Token accepted instead of a signature");
    if (const std::optional<int> exit_code = cli.parse(argc, argv, server))
        return *exit_code;

    switchboard::smn_simulator::smn_api api(creds, server.receipt_delay_ms);  // the kit's --receipt-delay-ms
    return switchboard::simulator::run(api, server);
}
