// The HTTP client against a real loopback server (the uSpeedo simulator): keep-alive, the
// response-size cap, and the difference between "never sent" and "sent, outcome unknown".
#include "child_process.hpp"
#include "fetch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <signal.h>

using namespace switchboard;
using namespace switchboard::testing;

namespace {

// Starts a simulator; a later --listen in `extra` overrides the default address.
std::string start_simulator(std::unique_ptr<child_process>& process, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{USPEEDO_SIMULATOR, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<child_process>(argv);
    return wait_for_listening(*process);
}

// Runs the given requests through one client, one after the other.
std::vector<core::http_result> send_all(core::http_client_options options, std::vector<core::http_request> requests,
                                        std::size_t* idle_after = nullptr) {
    boost::asio::io_context io;
    core::http_client client(io.get_executor(), options);
    auto done = boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<std::vector<core::http_result>> {
            std::vector<core::http_result> results;
            for (core::http_request& r : requests)
                results.push_back(co_await client.send(std::move(r)));
            co_return std::move(results);
        },
        boost::asio::use_future);
    io.run();
    if (idle_after != nullptr)
        *idle_after = client.idle_connections();
    return done.get();
}

// A throwaway CA and a server certificate for 127.0.0.1 and localhost, made with openssl(1).
struct test_pki {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("switchboard-pki-" + std::to_string(::getpid()));
    test_pki() {
        std::filesystem::create_directories(dir);
        const std::string d = dir.string();
        const std::string commands =
            "cd " + d + " && "
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=switchboard-test-ca "
            "2>/dev/null && "
            "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null && "
            "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
            "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
            "-extfile san.ext 2>/dev/null";
        REQUIRE(std::system(commands.c_str()) == 0);
    }
    ~test_pki() { std::filesystem::remove_all(dir); }
};

} // namespace

TEST_CASE("http client: a kept-alive connection is reused for the next request", "[http]") {
    std::unique_ptr<child_process> sim;
    const std::string url = start_simulator(sim);
    std::size_t idle = 0;
    const auto results = send_all({}, {{"GET", url + "/_simulator/calls", {}, {}}, {"GET", url + "/_simulator/calls", {}, {}}},
                                  &idle);
    REQUIRE(results[0].ok());
    REQUIRE(results[1].ok());
    CHECK(results[1].response.status == 200);
    CHECK(idle == 1);  // both requests went over one connection, now idle in the pool
}

TEST_CASE("http client: a refused connection is 'not sent'", "[http]") {
    std::unique_ptr<child_process> sim;
    const std::string url = start_simulator(sim);
    sim->stop(SIGKILL);
    const core::http_result r = fetch("GET", url + "/_simulator/calls");
    CHECK(r.failure == core::http_failure::not_sent);
    CHECK_THAT(r.error, Catch::Contains("cannot connect to 127.0.0.1:") && Catch::Contains("Connection refused"));
}

TEST_CASE("http client: a malformed URL is 'not sent' and says why", "[http]") {
    const core::http_result r = fetch("GET", "ftp://example.com/x");
    CHECK(r.failure == core::http_failure::not_sent);
    CHECK(r.error == "'ftp://example.com/x': only http and https are supported");
}

TEST_CASE("http client: no answer in time is 'sent, outcome unknown'", "[http]") {
    std::unique_ptr<child_process> sim;
    const std::string url = start_simulator(sim, {"--faults", R"({"delay": 1, "delay_ms": 2000})"});
    core::http_client_options options;
    options.request_timeout = std::chrono::milliseconds(300);
    const core::http_result r = fetch("POST", url + "/api", "{}", options);
    CHECK(r.failure == core::http_failure::outcome_unknown);
    CHECK_THAT(r.error, Catch::EndsWith("no complete answer within 300 ms"));
}

TEST_CASE("http client: an answer over the size cap is refused", "[http]") {
    std::unique_ptr<child_process> sim;
    const std::string url = start_simulator(sim);
    for (int i = 0; i < 20; ++i)
        fetch("POST", url + "/api", "{}");
    core::http_client_options options;
    options.max_response_bytes = 1024;
    const core::http_result r = fetch("GET", url + "/_simulator/calls", {}, options);
    CHECK(r.failure == core::http_failure::outcome_unknown);
    CHECK_THAT(r.error, Catch::EndsWith("the answer is larger than 1024 bytes"));
}

TEST_CASE("http client: TLS is verified against the configured CA, and refused without it", "[http][tls]") {
    test_pki pki;
    std::unique_ptr<child_process> sim;
    const std::string url = start_simulator(
        sim, {"--tls-cert", (pki.dir / "server.pem").string(), "--tls-key", (pki.dir / "server.key").string()});
    REQUIRE(url.rfind("https://127.0.0.1:", 0) == 0);
    const std::string port = url.substr(url.rfind(':') + 1);

    core::http_client_options trusting;
    trusting.ca_file = (pki.dir / "ca.pem").string();
    SECTION("with the CA configured, by address and by name (SNI)") {
        const core::http_result by_address = fetch("GET", url + "/_simulator/calls", {}, trusting);
        REQUIRE(by_address.ok());
        CHECK(by_address.response.status == 200);
        const core::http_result by_name = fetch("GET", "https://localhost:" + port + "/_simulator/calls", {}, trusting);
        REQUIRE(by_name.ok());
        CHECK(by_name.response.status == 200);
    }
    SECTION("with the system store only, the private CA is not trusted") {
        const core::http_result r = fetch("GET", url + "/_simulator/calls");
        CHECK(r.failure == core::http_failure::not_sent);
        CHECK_THAT(r.error, Catch::Contains("TLS handshake with 127.0.0.1:" + port + " failed: the server's certificate "
                                            "is not trusted: ") &&
                                Catch::Contains("configure its CA file"));
    }
    SECTION("a certificate for another name is refused even from a trusted CA") {
        std::unique_ptr<child_process> elsewhere;
        const std::string other = start_simulator(elsewhere, {"--listen", "127.0.0.2:0", "--tls-cert",
                                                              (pki.dir / "server.pem").string(), "--tls-key",
                                                              (pki.dir / "server.key").string()});
        const core::http_result r = fetch("GET", other + "/_simulator/calls", {}, trusting);
        CHECK(r.failure == core::http_failure::not_sent);
        CHECK_THAT(r.error, Catch::Contains("failed: the server's certificate is not trusted"));
    }
}
