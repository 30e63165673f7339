// smn-simulator: a loopback stand-in for smn.{region}.myhuaweicloud.com's legacy SMS API, for tests
// and the sandbox demo.
#include "smn_simulator.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"A Huawei Cloud SMN SMS API simulator (PromotionSmsPublish, SMS report list) on loopback"};
    switchboard::simulator::server_options server;
    switchboard::smn_simulator::credentials creds;
    std::int64_t receipt_delay_ms = 1000;
    switchboard::simulator::add_server_options(app, server);
    app.add_option("--access-key-id", creds.access_key_id, "The AK clients must sign with")->capture_default_str();
    app.add_option("--secret-access-key", creds.secret_access_key, "The SK clients must sign with");
    app.add_option("--project-id", creds.project_id, "The project id the paths must name")->capture_default_str();
    app.add_option("--auth-token", creds.auth_token, "The X-Auth-Token accepted instead of a signature");
    app.add_option("--receipt-delay-ms", receipt_delay_ms, "How long after acceptance a report becomes available")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    switchboard::smn_simulator::smn_api api(creds, receipt_delay_ms);
    return switchboard::simulator::run(api, server);
}
