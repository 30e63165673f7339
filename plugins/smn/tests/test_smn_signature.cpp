// The SDK-HMAC-SHA256 signer against the vectors Huawei publishes (VENDORS.md §4.2): the API
// signing guide's worked example and the Go SDK's signer_test.go.
#include "smn_signature.hpp"

#include <catch2/catch.hpp>

namespace smn = switchboard::smn;

TEST_CASE("signature: the API signing guide's example, step by step", "[signature]") {
    const smn::signing_input input{
        "GET",
        "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
        {{"marker", "13551d6b-755d-4757-b956-536f674975c0"}, {"limit", "2"}},
        {{"Content-Type", "application/json"}, {"Host", "service.region.example.com"}, {"X-Sdk-Date", "20191115T033655Z"}},
        ""};
    const std::string canonical = smn::canonical_request(input);
    CHECK(canonical == "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
                       "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
                       "content-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\n"
                       "content-type;host;x-sdk-date\n"
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(switchboard::sdk::hex(switchboard::sdk::sha256(canonical)) ==
          "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a");
    CHECK(smn::string_to_sign("20191115T033655Z", canonical) ==
          "SDK-HMAC-SHA256\n20191115T033655Z\nb25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a");
    CHECK(smn::signature(input, "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc") ==
          "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe");
    CHECK(smn::authorization(input, "QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc") ==
          "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
          "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe");
}

TEST_CASE("signature: the Go SDK's GET vector", "[signature]") {
    const smn::signing_input input{"GET", "/path", {{"limit", "1"}}, {{"X-Sdk-Date", "20060102T150405Z"}}, ""};
    CHECK(smn::signature(input, "SecretKey") == "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624");
}

TEST_CASE("signature: the Go SDK's POST vector hashes the body with its trailing newline", "[signature]") {
    smn::signing_input input{"POST", "/path", {{"key", "value"}}, {{"X-Sdk-Date", "20060102T150405Z"}},
                             "{\"Name\":\"test\",\"Id\":1}\n"};
    CHECK(smn::signature(input, "SecretKey") == "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59");
    input.body.pop_back();
    CHECK(smn::signature(input, "SecretKey") != "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59");
}

TEST_CASE("signature: canonical URI and query encode per RFC 3986 and always end the path in '/'", "[signature]") {
    CHECK(smn::canonical_uri("") == "/");
    CHECK(smn::canonical_uri("/") == "/");
    CHECK(smn::canonical_uri("/a/b") == "/a/b/");
    CHECK(smn::canonical_uri("/a/b/") == "/a/b/");
    CHECK(smn::canonical_uri("/a b/c~d") == "/a%20b/c~d/");
    CHECK(smn::canonical_query({{"b", "2"}, {"a", "x y"}, {"a", "+1"}}) == "a=%2B1&a=x%20y&b=2");
    CHECK(smn::signed_headers({{"X-Sdk-Date", "d"}, {"Host", "h"}, {"Content-Type", "c"}, {"X-Project-Id", "p"}}) ==
          "content-type;host;x-project-id;x-sdk-date");
}
