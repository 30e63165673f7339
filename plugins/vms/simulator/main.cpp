// vms-simulator: a loopback stand-in for cloud-vms.volcengineapi.com, for tests and the sandbox demo.
#include "vms_simulator.hpp"

int main(int argc, char** argv) {
    switchboard::simulator::command_line cli(
        "A Volcengine VMS voice-notification API simulator (SingleBatchAppend) on loopback");
    switchboard::simulator::server_options server;
    switchboard::vms_simulator::credentials creds;
    cli.add("--access-key-id", creds.access_key_id, "The AccessKeyId clients must use");
    cli.add("--secret-access-key", creds.secret_access_key, "The SecretAccessKey clients must sign with");
    cli.add("--region", creds.region, "The region clients must sign for");
    cli.add("--callback-token", creds.callback_token, "The authToken CDR callbacks are signed with");
    if (const std::optional<int> exit_code = cli.parse(argc, argv, server))
        return *exit_code;

    switchboard::vms_simulator::vms_api api(creds);
    return switchboard::simulator::run(api, server);
}
