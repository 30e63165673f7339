// The simulators' command line, the one place they use CLI11.
#include "simulator.hpp"

#include <CLI/CLI.hpp>

namespace switchboard::simulator {

struct command_line::impl {
    CLI::App app;
    explicit impl(const std::string& description) : app(description) {}
};

command_line::command_line(const std::string& description) : impl_(std::make_unique<impl>(description)) {}

command_line::~command_line() = default;

void command_line::add(const std::string& flag, std::string& value, const std::string& help) {
    impl_->app.add_option(flag, value, help)->capture_default_str();
}

void command_line::add(const std::string& flag, std::int64_t& value, const std::string& help) {
    impl_->app.add_option(flag, value, help)->capture_default_str();
}

void command_line::add(const std::string& flag, std::size_t& value, const std::string& help) {
    impl_->app.add_option(flag, value, help)->capture_default_str();
}

std::optional<int> command_line::parse(int argc, char** argv, server_options& server) {
    CLI::App& app = impl_->app;
    app.add_option("--listen", server.listen, "HOST:PORT to listen on; port 0 picks a free one")
        ->capture_default_str()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--tls-cert", server.tls_cert, "PEM certificate chain: serve HTTPS");
    app.add_option("--tls-key", server.tls_key, "PEM private key for --tls-cert");
    app.add_option("--faults", server.faults_json, "Initial fault settings as JSON (see POST /_simulator/faults)");
    app.add_option("--seed", server.seed, "Seed of the fault dice, for repeatable runs")->capture_default_str();
    app.add_option("--receipt-url", server.receipt_url,
                   "URL the vendor pushes delivery receipts to (vendors that push them); empty: no pushes");
    app.add_option("--receipt-delay-ms", server.receipt_delay_ms,
                   "How long after a call its receipts are pushed, or become available to pull")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return std::nullopt;
}

} // namespace switchboard::simulator
