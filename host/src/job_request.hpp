// The bodies of the job endpoints as the API takes them: read strictly (JSON declared as such, no
// key twice, no field it does not know), each mistake reported with its field's JSON path. Pure:
// what the daemon holds (routes, the store) is looked at by the caller.
#pragma once

#include "http_server.hpp"

#include <switchboard/core/job.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::host {

// A request the client got wrong: answered 400 with the field's JSON path.
struct bad_request {
    std::string field;
    std::string message;
};

// A body not declared as JSON: answered 415.
struct unsupported_media {};

// POST /v1/jobs.
struct job_request {
    boost::json::object document;          // the body as read (its canonical form identifies the request)
    boost::json::value route;              // a configured route's name, or an inline array of steps
    std::string region;                    // empty: the daemon's default
    bool open = false;                     // takes its recipients in pages, then a start
    std::string idempotency_key;
    std::int64_t send_at_ms = 0;           // 0: none
    std::int64_t deadline_ms = 0;          // 0: none
    std::vector<core::recipient> recipients;   // indexes from 0; `to` as given
};

// Reads a job submission received at `now_ms`. Throws bad_request or unsupported_media.
job_request read_job_request(const http_server_request& request, std::int64_t now_ms);

// Reads a page of recipients for an open job (POST /v1/jobs/{id}/recipients): indexes from 0.
// Throws bad_request or unsupported_media.
std::vector<core::recipient> read_page_request(const http_server_request& request);

// A request's body as a JSON object, read strictly (declared as JSON, no key twice). Throws
// bad_request or unsupported_media.
boost::json::object read_json_request(const http_server_request& request);

// Refuses a field of `o` (at `path`, "" for the top) that is not among `known`: a typo must not
// pass for an absent field. Throws bad_request naming the field and the known ones.
void only_known_fields(const boost::json::object& o, const std::string& path, std::initializer_list<std::string_view> known);

// Characters as people count them: code points of UTF-8 text.
std::size_t characters(std::string_view text);

} // namespace switchboard::host
