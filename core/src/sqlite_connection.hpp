// SQLite as the job store uses it: one connection with its own lock, prepared statements that
// throw the store's errors, and transactions that roll back unless committed. Internal to core.
#pragma once

#include <switchboard/core/job_store.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace switchboard::core::sqlite {

// One open database connection. Calls on it are serialised by its mutex, which callers hold
// (lock()) for as long as they use the connection and its statements.
class connection {
public:
    // Opens `file` read-write (creating it) or read-only; throws store_error naming the file.
    connection(const std::string& file, bool read_only);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    sqlite3* handle() const noexcept { return db_; }
    std::unique_lock<std::mutex> lock() const { return std::unique_lock(mutex_); }
    // The lock when it is free now; an unlocked one (owns_lock() false) when another holds it.
    std::unique_lock<std::mutex> try_lock() const { return std::unique_lock(mutex_, std::try_to_lock); }
    // Runs SQL that returns no rows; throws store_error (store_full when out of room).
    void exec(const std::string& sql);
    // Rows changed by the last statement.
    std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }
    // Throws the connection's last error, prefixed with `what`: store_full when out of room.
    [[noreturn]] void fail(const std::string& what) const;

private:
    std::string file_;
    sqlite3* db_ = nullptr;
    mutable std::mutex mutex_;
};

// One prepared statement, reset for reuse after each run.
class statement {
public:
    statement(const connection& db, const std::string& sql);
    ~statement() { sqlite3_finalize(stmt_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int i, const std::string& v) {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    // True while a row is available; throws on errors.
    bool step();
    // Runs a statement that returns no rows, and makes it ready for the next bindings.
    void run() {
        step();
        reset();
    }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    std::string text(int column) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }

private:
    const connection& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE now; ROLLBACK unless committed: a failure half way leaves the store as it was.
class transaction {
public:
    explicit transaction(connection& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
    ~transaction() {
        if (!committed_)
            sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
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

} // namespace switchboard::core::sqlite
