// uspeedo-simulator: a loopback stand-in for api.uspeedo.com, for tests and the sandbox demo.
#include "uspeedo_simulator.hpp"

int main(int argc, char** argv) {
    switchboard::simulator::command_line cli(
        "A uSpeedo SMS API simulator (SendBatchUSMSMessage, GetUSMSSendReceipt) on loopback");
    switchboard::simulator::server_options server;
    switchboard::uspeedo_simulator::credentials creds;
    cli.add("--access-key-id", creds.access_key_id, "The AccessKeyId clients must use");
    cli.add("--access-key-secret", creds.access_key_secret, "The AccessKeySecret clients must sign with");
    cli.add("--account-id", creds.account_id, "The AccountId (project) clients must send");
    if (const std::optional<int> exit_code = cli.parse(argc, argv, server))
        return *exit_code;

    switchboard::uspeedo_simulator::uspeedo_api api(creds, server.receipt_delay_ms);  // the kit's --receipt-delay-ms
    return switchboard::simulator::run(api, server);
}
