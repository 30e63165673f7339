#include "sqlite_connection.hpp"

namespace switchboard::core::sqlite {

connection::connection(const std::string& file, bool read_only) : file_(file) {
    const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(file_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw store_error("cannot open the store " + file_ + ": " + why +
                          " (check that its directory exists and is writable)");
    }
    sqlite3_busy_timeout(db_, 5000);
}

connection::~connection() { sqlite3_close(db_); }

void connection::exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
        fail("store " + file_);
}

void connection::fail(const std::string& what) const {
    const std::string message = what + ": " + sqlite3_errmsg(db_);
    if (sqlite3_errcode(db_) == SQLITE_FULL)
        throw store_full(message + " (free disk space, or raise store.max_size_mb, then try again)");
    throw store_error(message);
}

statement::statement(const connection& db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db.handle(), sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
        throw store_error(std::string("cannot prepare a store query: ") + sqlite3_errmsg(db.handle()));
}

bool statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    db_.fail("store write or read failed");
}

} // namespace switchboard::core::sqlite
