#include "postgres_connection.hpp"

#include <libpq-fe.h>

#include <charconv>

namespace switchboard::core::postgres {

namespace {

// libpq's messages end with a newline, sometimes two lines: one line for a log.
std::string one_line(std::string message) {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
    for (char& c : message)
        if (c == '\n')
            c = ' ';
    return message;
}

template <class T>
std::string array_literal(const std::vector<T>& values, void (*append)(std::string&, const T&)) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0)
            out += ',';
        append(out, values[i]);
    }
    out += '}';
    return out;
}

} // namespace

std::string array_of(const std::vector<std::string>& values) {
    // Every element quoted, '"' and '\' escaped: any text round-trips, "NULL" and "" included.
    return array_literal<std::string>(values, [](std::string& out, const std::string& v) {
        out += '"';
        for (char c : v) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    });
}

std::string array_of(const std::vector<std::int64_t>& values) {
    return array_literal<std::int64_t>(values, [](std::string& out, const std::int64_t& v) { out += std::to_string(v); });
}

result::~result() { PQclear(r_); }

int result::rows() const noexcept { return PQntuples(r_); }

bool result::is_null(int row, int column) const noexcept { return PQgetisnull(r_, row, column) != 0; }

std::string result::text(int row, int column) const {
    return std::string(PQgetvalue(r_, row, column), static_cast<std::size_t>(PQgetlength(r_, row, column)));
}

std::int64_t result::integer(int row, int column) const {
    const char* v = PQgetvalue(r_, row, column);
    const char* end = v + PQgetlength(r_, row, column);
    std::int64_t n = 0;
    if (std::from_chars(v, end, n).ptr != end)
        throw store_error("PostgreSQL answered '" + std::string(v, end) + "' where a whole number was expected");
    return n;
}

std::int64_t result::changed() const {
    const char* n = PQcmdTuples(r_);
    return *n == '\0' ? 0 : std::stoll(n);
}

connection::connection(std::string conninfo, std::string where, std::string session)
    : conninfo_(std::move(conninfo)), where_(std::move(where)), session_(std::move(session)) {
    reconnect();
}

connection::~connection() { PQfinish(conn_); }

void connection::reconnect() {
    PQfinish(conn_);
    conn_ = PQconnectdb(conninfo_.c_str());
    if (conn_ == nullptr)
        throw store_error("cannot connect to the PostgreSQL store at " + where_ + ": out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string why = one_line(PQerrorMessage(conn_));
        PQfinish(conn_);   // a constructor that throws runs no destructor
        conn_ = nullptr;
        throw store_error("cannot connect to the PostgreSQL store at " + where_ + ": " + why +
                          " (check that the server runs, and the URL, user, password and TLS settings of store.postgres)");
    }
    // The server's notices ("relation already exists, skipping") are for psql users, not the daemon's stderr.
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    if (!session_.empty()) {
        try {
            exec_script(session_);
        } catch (const store_error&) {
            PQfinish(conn_);   // as above: no destructor runs for a constructor that throws
            conn_ = nullptr;
            throw;
        }
    }
}

bool connection::broken() const noexcept { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }

int connection::backend_pid() const noexcept { return PQbackendPID(conn_); }

result connection::exec(const std::string& sql, const std::vector<arg>& args) {
    if (broken())
        throw store_error("the connection to the PostgreSQL store at " + where_ + " is lost");
    std::vector<const char*> values;
    values.reserve(args.size());
    for (const arg& a : args)
        values.push_back(a.text.c_str());
    pg_result* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                                nullptr, 0);
    const ExecStatusType status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fail(r, sql);
    return result(r);
}

void connection::exec_script(const std::string& sql) {
    if (broken())
        throw store_error("the connection to the PostgreSQL store at " + where_ + " is lost");
    pg_result* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail(r, sql);
    PQclear(r);
}

void connection::fail(pg_result* r, const std::string& sql) {
    const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const std::string sqlstate = state == nullptr ? "" : state;
    std::string message = one_line(r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
    if (message.empty())
        message = one_line(PQerrorMessage(conn_));
    PQclear(r);
    if (sqlstate == "23505")
        throw duplicate_key(message);
    if (sqlstate == "53100")
        throw store_full("the PostgreSQL store at " + where_ + " is full: " + message +
                         " (free disk space on the database server, then try again)");
    if (broken() || sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0)
        throw store_error("the connection to the PostgreSQL store at " + where_ + " is lost: " + message);
    // The statement's first words say which query failed, without the data it carried.
    throw store_error("the PostgreSQL store at " + where_ + " refused '" + sql.substr(0, 60) + "…': " + message);
}

transaction::~transaction() {
    if (!committed_ && !db_.broken()) {
        try {
            db_.exec("ROLLBACK");
        } catch (const store_error&) {
            // The server has dropped the transaction with the connection.
        }
    }
}

} // namespace switchboard::core::postgres
