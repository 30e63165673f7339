// The job endpoints' bodies (POST /v1/jobs, POST /v1/jobs/{id}/recipients) as the API reads them.
// The first byte picks the endpoint; the rest is the body. A refusal is the expected answer to
// almost every input; anything else escaping, or a fault, is a defect.
#include "job_request.hpp"

#include <cstddef>
#include <cstdint>

using namespace switchboard::host;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    http_server_request request{"POST", "/v1/jobs", {{"Content-Type", "application/json"}},
                                std::string(reinterpret_cast<const char*>(data) + 1, size - 1), "fuzz", {}};
    try {
        if (data[0] % 2 == 0)
            read_job_request(request, 1'796'000'000'000);
        else
            read_page_request(request);
    } catch (const bad_request&) {
    }
    return 0;
}
