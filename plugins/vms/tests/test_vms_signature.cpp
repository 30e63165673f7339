// Volcengine's V4 signature and VMS's callback authCode against the vectors VENDORS.md §1.2 and
// §1.6 publish (all VERIFIED there by an independent implementation).
#include "vms_signature.hpp"

#include <catch2/catch.hpp>

namespace sdk = switchboard::sdk;
namespace vms = switchboard::vms;

namespace {

const std::string ak = "AKLTYWViMTVmZGYzM2E0NDI5Mzk2MDZjNjFmMjc2MjRjMzg";
const std::string sk = "WkRZeE1EQmxPVGhsWWpWak5HVmtNbUUxTXpZeU9UVXlOMlE1TmpZeVlqTQ==";

vms::signing_input get(const std::string& host, std::vector<vms::query_param> query, const std::string& x_date) {
    vms::signing_input in;
    in.method = "GET";
    in.path = "/";
    in.query = std::move(query);
    in.headers = {{"host", host}, {"X-Date", x_date}};
    return in;
}

} // namespace

TEST_CASE("signature: vector A (docs 6369/67270), every intermediate value", "[signature]") {
    // The query is given out of order: canonicalisation sorts it.
    const vms::signing_input in = get("iam.volcengineapi.com",
                                      {{"Action", "ListUsers"}, {"Version", "2018-01-01"}, {"Limit", "10"}, {"Offset", "0"}},
                                      "20240619T071306Z");
    const std::string canonical = vms::canonical_request(in);
    CHECK(canonical ==
          "GET\n/\nAction=ListUsers&Limit=10&Offset=0&Version=2018-01-01\nhost:iam.volcengineapi.com\n"
          "x-date:20240619T071306Z\n\nhost;x-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sdk::hex(sdk::sha256(canonical)) == "5ed5bca3905e1fcbf789abb56a17c2d819674a3bcfa468ae476bd1ea80d135cb");
    const vms::credential_scope scope{"20240619", "cn-beijing", "iam"};
    CHECK(vms::string_to_sign("20240619T071306Z", scope, canonical) ==
          "HMAC-SHA256\n20240619T071306Z\n20240619/cn-beijing/iam/request\n"
          "5ed5bca3905e1fcbf789abb56a17c2d819674a3bcfa468ae476bd1ea80d135cb");
    CHECK(sdk::hex(vms::signing_key(sk, scope)) == "abee62e533a58934c49954459a3c3237d2fccea517c9a7c8a2651d8ea7779826");
    CHECK(vms::signature(in, "20240619T071306Z", sk, "cn-beijing", "iam") ==
          "e31c4558bcfe08a286001f59cedbf0791ffd0b2362f10e55ee2627467bcdde93");
    CHECK(vms::authorization(in, "20240619T071306Z", ak, sk, "cn-beijing", "iam") ==
          "HMAC-SHA256 Credential=" + ak + "/20240619/cn-beijing/iam/request, SignedHeaders=host;x-date, "
          "Signature=e31c4558bcfe08a286001f59cedbf0791ffd0b2362f10e55ee2627467bcdde93");
}

TEST_CASE("signature: vector B (GET QueryBalanceAcct), with the derived keys", "[signature]") {
    const vms::signing_input in = get("billing.volcengineapi.com", {{"Action", "QueryBalanceAcct"}, {"Version", "2022-01-01"}},
                                      "20250329T180937Z");
    CHECK(sdk::hex(sdk::sha256(vms::canonical_request(in))) ==
          "43171c1658c64b5db55c58d54988a4598d2d09a5613136beaa5eef40eae6e2c1");
    const std::string k_date = sdk::hmac_sha256(sk, "20250329");
    const std::string k_region = sdk::hmac_sha256(k_date, "cn-beijing");
    const std::string k_service = sdk::hmac_sha256(k_region, "billing");
    CHECK(sdk::hex(k_date) == "069b1da2ba9c0ecbd8e8aaf2a5742696ebc22f3fe95a649983d31b433ba94ff3");
    CHECK(sdk::hex(k_region) == "2f41e8c797f1f0200484c9b0986f89cb371bf44d51e37ca7ad0e12dcbbd83cfd");
    CHECK(sdk::hex(k_service) == "2d9caf568d4a1bd052daf42378d281e7f3233c7110dd6849988bd17fd5423777");
    CHECK(sdk::hex(vms::signing_key(sk, {"20250329", "cn-beijing", "billing"})) ==
          "b491ed164936de3bb06c1eb23326aa9587b5aaa6a4e02144b9d523bbebb7ca9f");
    CHECK(vms::signature(in, "20250329T180937Z", sk, "cn-beijing", "billing") ==
          "1eda9e7e6b1728151a8e8791fdaf67cfbd28bd5c80d0fce2eb208746cf483105");
}

TEST_CASE("signature: vector C (POST ListBill) hashes the exact body bytes", "[signature]") {
    vms::signing_input in;
    in.method = "POST";
    in.query = {{"Action", "ListBill"}, {"Version", "2022-01-01"}};
    in.headers = {{"Host", "billing.volcengineapi.com"}, {"X-Date", "20250329T180937Z"}};
    in.body = R"({"Limit":10,"BillPeriod":"2023-08"})";
    CHECK(sdk::hex(sdk::sha256(vms::canonical_request(in))) ==
          "27383e3b56d03850f5634483527fbddcbf06cf98de1bc8a6679ef2300bff3b15");
    CHECK(vms::signature(in, "20250329T180937Z", sk, "cn-beijing", "billing") ==
          "5e8480ceea12d0000a23c054151c50dd02c1a7dec835004057d19f13d53a7658");
    in.body += " ";
    CHECK(vms::signature(in, "20250329T180937Z", sk, "cn-beijing", "billing") !=
          "5e8480ceea12d0000a23c054151c50dd02c1a7dec835004057d19f13d53a7658");
}

TEST_CASE("signature: canonical forms of query, path and headers", "[signature]") {
    CHECK(vms::canonical_query({{"b", "x y"}, {"a", "1+2/3~"}, {"A", "é"}}) == "A=%C3%A9&a=1%2B2%2F3~&b=x%20y");
    CHECK(vms::canonical_query({}) == "");
    CHECK(vms::canonical_uri("/") == "/");
    CHECK(vms::canonical_uri("") == "/");
    CHECK(vms::canonical_uri("/a b/c") == "/a%20b/c");
    CHECK(vms::signed_header_names({{"X-Date", "d"}, {"Content-Type", "t"}, {"host", "h"}, {"X-Content-Sha256", "s"}}) ==
          "content-type;host;x-content-sha256;x-date");
    vms::signing_input in;
    in.headers = {{"X-Date", " 20240619T071306Z "}, {"Host", "h"}};
    CHECK(vms::canonical_request(in).find("host:h\nx-date:20240619T071306Z\n\nhost;x-date\n") != std::string::npos);
}

TEST_CASE("callback authCode: the VERIFIED vector (docs 6358/173362)", "[signature][receipts]") {
    CHECK(vms::callback_auth_code("1622539884", R"({"callId":"abcdefg","accountId":"123456789"})", "8D202AC288") ==
          "8090de7b7bab3d9e626280f635a60a8453d2ba75403f13aac3f4d5dccf6c2264");
    CHECK(vms::callback_auth_code("1622539885", R"({"callId":"abcdefg","accountId":"123456789"})", "8D202AC288") !=
          "8090de7b7bab3d9e626280f635a60a8453d2ba75403f13aac3f4d5dccf6c2264");
}
