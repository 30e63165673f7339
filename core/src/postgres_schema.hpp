#pragma once

#include "postgres_connection.hpp"

namespace switchboard::core::postgres {

// Brings the database on `db` to postgres_schema_version, under an advisory lock held until the
// migration commits: daemons starting together take turns, and the second finds the work done.
// Throws store_error for a database of a newer version.
void migrate(connection& db);

} // namespace switchboard::core::postgres
