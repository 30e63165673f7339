// The JSON documents the host hands a plugin about recipients (ABI 1.0): a validation request and
// a batch to encode or decode. Built in one place, so the dispatcher, the API and the codec
// benchmark give plugins exactly the same documents.
#pragma once

#include <switchboard/core/job.hpp>
#include <switchboard/core/route.hpp>

#include <span>
#include <string>

namespace switchboard::core {

// {"channel", "step", "recipients": [{"to", "params"}]}: what validate() is asked about.
std::string validation_document(const route_step& step, std::span<const recipient* const> recipients);

// {"id", "job_id", "channel", "step", "send_at_unix_ms", "recipients": [{"id", "to", "params"}]}: one
// vendor call of job `job_id`, recipients of one step; a recipient's "id" is its index in the job.
// The call's id is unique per call: a retry is another attempt, a fallback another step.
// send_at_unix_ms (the job's `send_at_ms`) is there only for a step whose vendor holds the call.
std::string batch_document(const std::string& job_id, const route_step& step, const std::vector<recipient>& batch,
                           std::int64_t send_at_ms = 0);

} // namespace switchboard::core
