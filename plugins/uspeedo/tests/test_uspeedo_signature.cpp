// uSpeedo's SHA-1 request signature against the vectors the vendor publishes (VENDORS.md §2.2).
#include "uspeedo_signature.hpp"

#include <switchboard/sdk/error.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

namespace json = boost::json;
namespace uspeedo = switchboard::uspeedo;

namespace {

json::object body(std::string_view text) { return json::parse(text).as_object(); }

} // namespace

TEST_CASE("signature: vector 1 from the official signature-1.md, plaintext and signature", "[signature]") {
    const std::string secret = "MjI3YmYyMjItNmM4Mi00ZGM5LWEwNDQtN2EzZjM0Yzk2OWE1";
    const json::object sent = body(R"({"Action":"SendBatchUSMSMessage","AccountId":10001,"TaskContent":[{"TemplateId":"UTA2233108MUY3HZ","SenderId":"uSpeedo",
        "Target":[{"TemplateParams":["123456","653132","nickname1"],"Phone":"55212345780"},
                  {"TemplateParams":["123457","765421","nickname2"],"Phone":"55212345781"}]}]})");

    CHECK(uspeedo::signing_plaintext(sent, secret) ==
          "AccountId10001ActionSendBatchUSMSMessageTaskContentSenderIduSpeedoTargetPhone55212345780TemplateParams"
          "123456653132nickname1Phone55212345781TemplateParams123457765421nickname2TemplateIdUTA2233108MUY3HZ"
          "MjI3YmYyMjItNmM4Mi00ZGM5LWEwNDQtN2EzZjM0Yzk2OWE1");
    CHECK(uspeedo::signature(sent, secret) == "69cc15724cda05b63c99cebf8226202d4c69ef0f");
}

TEST_CASE("signature: vectors 2 and 3 from the Python SDK's tests", "[signature]") {
    const std::string secret = "NTk1Mzk0MAItOWI0My10MGM4LTg0NmMMNDM0ZGM5Y2ZkMmNk";
    CHECK(uspeedo::signature(body(R"({"Action":"CreateUSMSTemplate","Purpose":1,"Template":"your code is {1}",
                                      "AccountId":60000011,"TemplateName":"demo"})"),
                             secret) == "11a0430ae6f1a4dc0c656e64dfc1886b0ac4b63a");
    CHECK(uspeedo::signature(body(R"({"Action":"SendBatchUSMSMessage","TaskContent":[{"TemplateId":"UTAXXXXXXXXXXX",
                                      "SenderId":"uspeedo","Target":[{"Phone":"1111","TemplateParams":["1111"]}]}]})"),
                             secret) == "7175ca50d6204dfd469e8aab447810c08f9da53f");
}

TEST_CASE("signature: keys sort by byte and every JSON type has its documented form", "[signature]") {
    // Upper case sorts before lower case; arrays add their items only; objects nest sorted; bools
    // are words; integers and floats are plain decimals (Go's FormatFloat 'f', -1).
    const json::object sent = body(R"({"b":"1","B":"2","Obj":{"z":1,"a":[-5,"x",true,false]},"F":0.25,"G":1e21})");
    CHECK(uspeedo::signing_plaintext(sent, "S") == "B2F0.25G1000000000000000000000Obja-5xtruefalsez1b1S");
}

TEST_CASE("signature: a body with a null is refused rather than signed one way of several", "[signature]") {
    CHECK_THROWS_AS(uspeedo::signature(body(R"({"Phone":null})"), "S"), switchboard::sdk::error);
}
