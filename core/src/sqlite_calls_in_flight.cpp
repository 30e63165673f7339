#include "sqlite_calls_in_flight.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace switchboard::core::sqlite {

namespace {

// A call's indexes as the row keeps them: runs, "0-999,1005,1007-1010".
std::string runs_text(const index_runs& runs) {
    std::string text;
    for (const auto& [first, last] : runs) {
        if (!text.empty())
            text += ',';
        text += std::to_string(first);
        if (last != first)
            text += '-' + std::to_string(last);
    }
    return text;
}

[[noreturn]] void damaged(const std::string& text) {
    throw store_error("the store's record of a call in flight is damaged ('" + text +
                      "' is not a list of recipient indexes): restore the store from a backup");
}

std::int64_t read_number(const char*& p, const char* end, const std::string& text) {
    std::int64_t n = 0;
    const auto [next, error] = std::from_chars(p, end, n);
    if (error != std::errc{} || n < 0)
        damaged(text);
    p = next;
    return n;
}

std::vector<std::int64_t> indexes_of(const std::string& text) {
    std::vector<std::int64_t> out;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        const std::int64_t first = read_number(p, end, text);
        std::int64_t last = first;
        if (p < end && *p == '-')
            last = read_number(++p, end, text);
        if (last < first || last - first >= 100'000'000 || (p < end && *p++ != ','))
            damaged(text);
        for (std::int64_t i = first; i <= last; ++i)
            out.push_back(i);
    }
    return out;
}

} // namespace

index_runs runs_of(const std::vector<std::int64_t>& sorted) {
    index_runs runs;
    for (std::int64_t index : sorted)
        if (!runs.empty() && runs.back().second + 1 == index)
            runs.back().second = index;
        else
            runs.emplace_back(index, index);
    return runs;
}

bool among(const index_runs& runs, std::int64_t index) {
    const auto after = std::upper_bound(runs.begin(), runs.end(), index,
                                        [](std::int64_t i, const auto& run) { return i < run.first; });
    return after != runs.begin() && std::prev(after)->second >= index;
}

const std::string* job_calls::provider_of(std::int64_t index) const {
    if (!among(all, index))
        return nullptr;
    for (const auto& [provider, runs] : by_provider)
        if (among(runs, index))
            return &provider;
    return nullptr;
}

void calls_in_flight::load(const connection& db) {
    std::map<std::int64_t, call> calls;
    std::map<std::string, std::map<std::int64_t, std::int64_t>> by_job;
    statement s(db, "SELECT id, job_id, provider, indexes FROM calls");
    while (s.step()) {
        const std::int64_t id = s.integer(0);
        const call& c = calls.emplace(id, call{s.text(1), s.text(2)}).first->second;
        auto& taken = by_job[c.job_id];
        for (std::int64_t index : indexes_of(s.text(3)))
            taken.emplace(index, id);
    }
    std::lock_guard lock(mutex_);
    calls_ = std::move(calls);
    by_job_ = std::move(by_job);
}

job_calls calls_in_flight::of_job(const std::string& job_id) const {
    std::vector<std::int64_t> all;
    std::map<std::string, std::vector<std::int64_t>> by_provider;
    {
        std::lock_guard lock(mutex_);
        const auto job = by_job_.find(job_id);
        if (job == by_job_.end())
            return {};
        all.reserve(job->second.size());
        for (const auto& [index, call] : job->second) {
            all.push_back(index);
            by_provider[calls_.at(call).provider].push_back(index);
        }
    }
    job_calls out{runs_of(all), {}};
    for (const auto& [provider, sorted] : by_provider)
        out.by_provider.emplace(provider, runs_of(sorted));
    return out;
}

std::int64_t calls_in_flight::write_call(connection& db, const std::string& job_id, const std::string& provider,
                                         const std::vector<std::int64_t>& sorted) const {
    statement insert(db, "INSERT INTO calls (job_id, provider, indexes) VALUES (?, ?, ?) RETURNING id");
    insert.bind(1, job_id).bind(2, provider).bind(3, runs_text(runs_of(sorted)));
    if (!insert.step())
        db.fail("store: recording a call of job " + job_id);
    return insert.integer(0);
}

void calls_in_flight::take(std::int64_t call_id, const std::string& job_id, const std::string& provider,
                           const std::vector<std::int64_t>& sorted) {
    std::lock_guard lock(mutex_);
    calls_.insert_or_assign(call_id, call{job_id, provider});
    auto& taken = by_job_[job_id];
    for (std::int64_t index : sorted)
        taken.insert_or_assign(index, call_id);
}

std::vector<std::int64_t> calls_in_flight::write_release(connection& db, const std::string& job_id,
                                                         const std::vector<std::int64_t>& indexes) const {
    std::vector<std::int64_t> released;
    std::map<std::int64_t, std::vector<std::int64_t>> left;   // call -> its indexes not released
    {
        std::lock_guard lock(mutex_);
        const auto job = by_job_.find(job_id);
        if (job == by_job_.end())
            return {};
        std::set<std::int64_t> touched;
        for (std::int64_t index : indexes)
            if (const auto found = job->second.find(index); found != job->second.end()) {
                released.push_back(index);
                touched.insert(found->second);
            }
        if (touched.empty())
            return {};
        const std::set<std::int64_t> leaving(released.begin(), released.end());
        for (std::int64_t call : touched)
            left[call];
        for (const auto& [index, call] : job->second)
            if (touched.count(call) != 0 && leaving.count(index) == 0)
                left[call].push_back(index);
    }
    statement remove(db, "DELETE FROM calls WHERE id = ?");
    statement rewrite(db, "UPDATE calls SET indexes = ? WHERE id = ?");
    for (const auto& [call, rest] : left) {
        if (rest.empty()) {
            remove.bind(1, call);
            remove.run();
        } else {
            rewrite.bind(1, runs_text(runs_of(rest))).bind(2, call);
            rewrite.run();
        }
    }
    return released;
}

void calls_in_flight::release(const std::string& job_id, const std::vector<std::int64_t>& indexes) {
    std::lock_guard lock(mutex_);
    const auto job = by_job_.find(job_id);
    if (job == by_job_.end())
        return;
    std::set<std::int64_t> touched;
    for (std::int64_t index : indexes)
        if (const auto found = job->second.find(index); found != job->second.end()) {
            touched.insert(found->second);
            job->second.erase(found);
        }
    for (std::int64_t call : touched) {
        const bool empty = std::none_of(job->second.begin(), job->second.end(),
                                        [call](const auto& entry) { return entry.second == call; });
        if (empty)
            calls_.erase(call);
    }
    if (job->second.empty())
        by_job_.erase(job);
}

} // namespace switchboard::core::sqlite
