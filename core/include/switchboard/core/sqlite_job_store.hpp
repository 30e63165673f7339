// The embedded durable store: SQLite in WAL mode with synchronous=FULL, so that a job the API
// answered 202 for survives a crash of the process or of the machine. Writes are batched: one
// transaction per job created and per vendor call's outcomes.
#pragma once

#include <switchboard/core/job_store.hpp>

#include <filesystem>
#include <stdexcept>

namespace switchboard::core {

// The schema version this build reads and writes.
inline constexpr int sqlite_schema_version = 5;

// Opens (creating when absent) the database at `file`, which may grow to `max_bytes` (0: as far
// as the disk allows). Throws store_error when the file cannot be opened or written, is not a
// database, or has a schema newer than this build's.
std::unique_ptr<job_store> open_sqlite_job_store(const std::filesystem::path& file, std::int64_t max_bytes = 0);

} // namespace switchboard::core
