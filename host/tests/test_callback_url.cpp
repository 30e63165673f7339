#include "callback_url.hpp"

#include <catch2/catch.hpp>

using switchboard::host::callback_origin;
using switchboard::host::callback_url;
using switchboard::host::http_server_request;

namespace {

// A vendor's callback as a TLS proxy at 10.0.0.5 passes it on to the daemon.
http_server_request proxied(std::string peer) {
    http_server_request r;
    r.method = "POST";
    r.target = "/v1/receipts/twilio?token=t0k";
    r.headers = {{"Host", "10.0.0.9:8080"},
                 {"x-forwarded-proto", "HTTPS"},
                 {"X-Forwarded-Host", "gw.example.com, inner.example.com"}};
    r.peer = std::move(peer);
    return r;
}

} // namespace

TEST_CASE("callback url: without settings it is the Host the request names, over http", "[callback_url]") {
    CHECK(callback_url(proxied("10.0.0.5"), {}) == "http://10.0.0.9:8080/v1/receipts/twilio?token=t0k");
    http_server_request no_host = proxied("10.0.0.5");
    no_host.headers.clear();
    CHECK(callback_url(no_host, {}) == "http://localhost/v1/receipts/twilio?token=t0k");
}

TEST_CASE("callback url: a trusted proxy's forwarded scheme and host are believed, the first of each", "[callback_url]") {
    const callback_origin origin{{}, {"127.0.0.1", "10.0.0.5"}};
    CHECK(callback_url(proxied("10.0.0.5"), origin) == "https://gw.example.com/v1/receipts/twilio?token=t0k");
}

TEST_CASE("callback url: forwarded headers from any other peer are ignored", "[callback_url]") {
    const callback_origin origin{{}, {"10.0.0.5"}};
    CHECK(callback_url(proxied("10.0.0.6"), origin) == "http://10.0.0.9:8080/v1/receipts/twilio?token=t0k");
    CHECK(callback_url(proxied(""), origin) == "http://10.0.0.9:8080/v1/receipts/twilio?token=t0k");
}

TEST_CASE("callback url: a forwarded scheme other than http or https is ignored", "[callback_url]") {
    http_server_request r = proxied("10.0.0.5");
    r.headers[1].second = "javascript";
    CHECK(callback_url(r, {{}, {"10.0.0.5"}}) == "http://gw.example.com/v1/receipts/twilio?token=t0k");
}

TEST_CASE("callback url: a configured public URL wins over every header, its path a prefix", "[callback_url]") {
    const callback_origin origin{"https://example.org/switchboard", {"10.0.0.5"}};
    CHECK(callback_url(proxied("10.0.0.5"), origin) == "https://example.org/switchboard/v1/receipts/twilio?token=t0k");
}
