// uspeedo-simulator: a loopback stand-in for api.uspeedo.com, for tests and the sandbox demo.
#include "uspeedo_simulator.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"A uSpeedo SMS API simulator (SendBatchUSMSMessage, GetUSMSSendReceipt) on loopback"};
    switchboard::simulator::server_options server;
    switchboard::uspeedo_simulator::credentials creds;
    std::int64_t receipt_delay_ms = 1000;
    switchboard::simulator::add_server_options(app, server);
    app.add_option("--access-key-id", creds.access_key_id, "The AccessKeyId clients must use")->capture_default_str();
    app.add_option("--access-key-secret", creds.access_key_secret, "The AccessKeySecret clients must sign with");
    app.add_option("--account-id", creds.account_id, "The AccountId (project) clients must send")->capture_default_str();
    app.add_option("--receipt-delay-ms", receipt_delay_ms, "How long after acceptance a receipt becomes available")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    switchboard::uspeedo_simulator::uspeedo_api api(creds, receipt_delay_ms);
    return switchboard::simulator::run(api, server);
}
