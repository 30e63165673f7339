// vms-simulator: a loopback stand-in for cloud-vms.volcengineapi.com, for tests and the sandbox demo.
#include "vms_simulator.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"A Volcengine VMS voice-notification API simulator (SingleBatchAppend) on loopback"};
    switchboard::simulator::server_options server;
    switchboard::vms_simulator::credentials creds;
    switchboard::simulator::add_server_options(app, server);
    app.add_option("--access-key-id", creds.access_key_id, "The AccessKeyId clients must use")->capture_default_str();
    app.add_option("--secret-access-key", creds.secret_access_key, "The SecretAccessKey clients must sign with");
    app.add_option("--region", creds.region, "The region clients must sign for")->capture_default_str();
    app.add_option("--callback-token", creds.callback_token, "The authToken CDR callbacks are signed with")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    switchboard::vms_simulator::vms_api api(creds);
    return switchboard::simulator::run(api, server);
}
