// The job store's tables and indexes in SQLite, and the migrations between their versions.
#pragma once

#include "sqlite_connection.hpp"

#include <switchboard/core/sqlite_job_store.hpp>

#include <string>

namespace switchboard::core::sqlite {

inline constexpr int schema_version = sqlite_schema_version;

// Brings the database on `db` (the store `file`) to schema_version. Throws store_error for a file
// of a newer version.
void migrate(connection& db, const std::string& file);

} // namespace switchboard::core::sqlite
