// PostgreSQL as the job store uses it: one libpq connection, queries with text parameters that
// throw the store's errors, array parameters for a whole page of rows in one statement, and
// transactions that roll back unless committed. Internal to core.
#pragma once

#include <switchboard/core/job_store.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

struct pg_conn;
struct pg_result;

namespace switchboard::core::postgres {

// A key that is taken already: a job id or an idempotency key (SQLSTATE 23505).
class duplicate_key : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// One query parameter, as PostgreSQL's text form.
struct arg {
    std::string text;
    arg(std::string v) : text(std::move(v)) {}
    arg(const char* v) : text(v) {}
    template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
    arg(T v) : text(std::to_string(v)) {}
};

// An array literal ('{"a","b"}') of text or numbers, for `= ANY($1::text[])` or `unnest(...)`.
std::string array_of(const std::vector<std::string>& values);
std::string array_of(const std::vector<std::int64_t>& values);

// The rows a query returned.
class result {
public:
    explicit result(pg_result* r) noexcept : r_(r) {}
    ~result();
    result(result&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
    result(const result&) = delete;
    result& operator=(const result&) = delete;
    result& operator=(result&&) = delete;

    int rows() const noexcept;
    bool is_null(int row, int column) const noexcept;
    std::string text(int row, int column) const;
    std::int64_t integer(int row, int column) const;
    // Rows an INSERT, UPDATE or DELETE changed.
    std::int64_t changed() const;

private:
    pg_result* r_;
};

// One connection to the server at `where` (the URL without its password, for messages).
class connection {
public:
    // Connects, and runs `session` (SET statements) on each new session; throws store_error naming
    // `where` and libpq's reason when it cannot.
    connection(std::string conninfo, std::string where, std::string session = {});
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Runs one statement; throws duplicate_key, store_full (the server's disk is full) or store_error.
    result exec(const std::string& sql, const std::vector<arg>& args = {});
    // Runs several statements without parameters (a migration).
    void exec_script(const std::string& sql);
    // Whether the connection is lost (the server restarted, the network broke).
    bool broken() const noexcept;
    // Connects again; throws store_error when the server cannot be reached.
    void reconnect();
    // The server process serving this connection.
    int backend_pid() const noexcept;
    const std::string& where() const noexcept { return where_; }

private:
    [[noreturn]] void fail(pg_result* r, const std::string& sql);

    std::string conninfo_;
    std::string where_;
    std::string session_;
    pg_conn* conn_ = nullptr;
};

// BEGIN now; ROLLBACK unless committed: a failure half way leaves the store as it was.
class transaction {
public:
    explicit transaction(connection& db) : db_(db) { db_.exec("BEGIN"); }
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit() {
        db_.exec("COMMIT");
        committed_ = true;
    }

private:
    connection& db_;
    bool committed_ = false;
};

} // namespace switchboard::core::postgres
