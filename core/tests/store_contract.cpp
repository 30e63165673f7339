#include "store_contract.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

namespace switchboard::core::testing {

std::vector<recipient> numbered(int n) {
    std::vector<recipient> out;
    for (int i = 0; i < n; ++i) {
        recipient r;
        r.index = i;
        r.to = "+8525000000" + std::to_string(i);
        out.push_back(r);
    }
    return out;
}

job a_job(const std::string& id, int recipients, const std::string& key) {
    return {id, "otp", 1000, job_state::queued, recipients, 0, key, key.empty() ? "" : "hash-of-" + key, 0,
            R"({"name":"otp","steps":[{"provider":"p","channel":"sms"}]})", "HK", false, 0};
}

recipient_update to_state(std::int64_t index, recipient_state state, std::int64_t next_attempt_at_ms) {
    recipient_update u;
    u.index = index;
    u.state = state;
    u.next_attempt_at_ms = next_attempt_at_ms;
    return u;
}

void check_store_contract(job_store& store) {
    store.create_job(a_job("j1", 5), numbered(5));

    SECTION("a job is stored whole and found by id") {
        REQUIRE(store.find_job("j1"));
        CHECK(store.find_job("j1")->recipient_count == 5);
        CHECK_FALSE(store.find_job("j2"));
        CHECK(store.count_by_state("j1").at(recipient_state::queued) == 5);
        CHECK(store.recipients("j1", 0, 100).size() == 5);
    }
    SECTION("a job is found by its idempotency key, and a key is never reused") {
        store.create_job(a_job("j2", 1, "client-key-1"), numbered(1));
        const auto found = store.find_job_by_idempotency_key("client-key-1");
        REQUIRE(found);
        CHECK(found->id == "j2");
        CHECK(found->request_hash == "hash-of-client-key-1");
        CHECK_FALSE(store.find_job_by_idempotency_key("client-key-2"));
        CHECK_FALSE(store.find_job_by_idempotency_key(""));
        CHECK_THROWS_AS(store.create_job(a_job("j3", 1, "client-key-1"), numbered(1)), std::invalid_argument);
        store.create_job(a_job("j4", 1), numbered(1));  // jobs without a key never collide
    }
    SECTION("a job id is never reused") {
        CHECK_THROWS_AS(store.create_job(a_job("j1", 1), numbered(1)), std::invalid_argument);
    }
    SECTION("updates change exactly the recipients they name, and counts follow") {
        store.apply("j1", {to_state(1, recipient_state::accepted), to_state(3, recipient_state::failed)});
        const auto counts = store.count_by_state("j1");
        CHECK(counts.at(recipient_state::queued) == 3);
        CHECK(counts.at(recipient_state::accepted) == 1);
        CHECK(counts.at(recipient_state::failed) == 1);
        const auto failed = store.recipients("j1", 0, 100, recipient_state::failed);
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].index == 3);
        CHECK_THROWS_AS(store.apply("j1", {to_state(9, recipient_state::accepted)}), std::out_of_range);
    }
    SECTION("only queued recipients that are due are handed out, in index order") {
        store.apply("j1", {to_state(0, recipient_state::accepted), to_state(2, recipient_state::queued, 5000)});
        const auto due = store.due_recipients("j1", 4000, 100);
        REQUIRE(due.size() == 3);
        CHECK(due[0].index == 1);
        CHECK(due[2].index == 4);
        CHECK(store.due_recipients("j1", 5000, 100).size() == 4);
        CHECK(store.due_recipients("j1", 5000, 2).size() == 2);
        CHECK(store.next_due_at("j1") == 0);
    }
    SECTION("when nothing is queued there is nothing due") {
        std::vector<recipient_update> all;
        for (int i = 0; i < 5; ++i)
            all.push_back(to_state(i, recipient_state::accepted));
        store.apply("j1", all);
        CHECK_FALSE(store.next_due_at("j1"));
        CHECK(store.due_recipients("j1", 1'000'000, 100).empty());
    }
    SECTION("pages start at an index and respect their limit") {
        const auto page = store.recipients("j1", 2, 2);
        REQUIRE(page.size() == 2);
        CHECK(page[0].index == 2);
        CHECK(page[1].index == 3);
    }
    SECTION("recipients appended to a job continue its indexes") {
        std::vector<recipient> more = numbered(3);
        for (recipient& r : more)
            r.index += 5;
        store.append_recipients("j1", more);
        CHECK(store.find_job("j1")->recipient_count == 8);
        const auto all = store.recipients("j1", 0, 100);
        REQUIRE(all.size() == 8);
        CHECK(all[7].index == 7);
        CHECK(store.count_by_state("j1").at(recipient_state::queued) == 8);
    }
    SECTION("finished jobs are deleted once they are older than the retention") {
        store.create_job(a_job("j2", 2), numbered(2));
        store.finish_job("j1", 5000);
        CHECK(store.find_job("j1")->finished_at_ms == 5000);
        CHECK(store.delete_finished_before(5000) == 0);  // not older yet
        CHECK(store.delete_finished_before(5001) == 1);
        CHECK_FALSE(store.find_job("j1"));
        CHECK(store.find_job("j2"));                     // unfinished jobs stay, whatever their age
    }
    SECTION("cancelling touches only the recipients still queued") {
        store.apply("j1", {to_state(0, recipient_state::accepted), to_state(1, recipient_state::sending)});
        CHECK(store.settle_all("j1", recipient_state::queued, recipient_state::cancelled, "cancelled", "cancelled before it was sent") == 3);
        const auto counts = store.count_by_state("j1");
        CHECK(counts.at(recipient_state::cancelled) == 3);
        CHECK(counts.at(recipient_state::accepted) == 1);
        CHECK(counts.at(recipient_state::sending) == 1);
        CHECK(store.recipients("j1", 2, 1)[0].reason == "cancelled before it was sent");
        CHECK(store.recipients("j1", 2, 1)[0].code == "cancelled");
        CHECK_FALSE(store.next_due_at("j1"));
    }
    SECTION("a claim takes only recipients still queued, so a cancel is never overwritten") {
        store.settle_all("j1", recipient_state::queued, recipient_state::cancelled, "cancelled", "cancelled before it was sent");
        CHECK(store.claim("j1", {0}, "p").empty());
        CHECK(store.count_by_state("j1").at(recipient_state::cancelled) == 5);
    }
    SECTION("a claim reports the recipients it took") {
        store.apply("j1", {to_state(1, recipient_state::accepted)});
        const auto claimed = store.claim("j1", {2, 0, 1}, "sms-hk");
        CHECK(claimed == std::vector<std::int64_t>{2, 0});
        CHECK(store.count_by_state("j1").at(recipient_state::sending) == 2);
        CHECK(store.count_by_state("j1").at(recipient_state::accepted) == 1);
        const recipient taken = store.recipients("j1", 2, 1).front();
        CHECK(taken.state == recipient_state::sending);
        CHECK(taken.attempts == 1);
        CHECK(taken.provider == "sms-hk");
        CHECK(store.claim("j1", {2}, "sms-hk").empty());  // in a call already
    }
    SECTION("recipients in a call are not due, read as sending to its provider, and leave it with their outcome") {
        CHECK(store.claim("j1", {0, 1}, "sms-hk") == std::vector<std::int64_t>{0, 1});
        const auto due = store.due_recipients("j1", 1'000'000, 100);
        REQUIRE(due.size() == 3);
        CHECK(due.front().index == 2);
        const auto sending = store.recipients("j1", 0, 100, recipient_state::sending);
        REQUIRE(sending.size() == 2);
        CHECK(sending[1].index == 1);
        CHECK(sending[1].provider == "sms-hk");
        CHECK(sending[1].attempts == 1);
        CHECK(store.recipients("j1", 0, 100, recipient_state::queued).size() == 3);
        CHECK(store.recipients("j1", 0, 100, std::nullopt, "sms-hk").size() == 2);
        CHECK(store.recipients("j1", 0, 100, std::nullopt, "other").empty());
        CHECK(store.orphaned_in_flight("j1", job_store::caller::this_daemon).size() == 2);
        // Screening (which moves recipients still queued) leaves those in a call alone.
        CHECK(store.apply_if("j1", recipient_state::queued, {to_state(1, recipient_state::skipped_suppressed)}).empty());
        CHECK(store.recipients("j1", 1, 1).front().state == recipient_state::sending);
        // Nothing else queued: the two in the call are not due, and wake nobody.
        store.apply("j1", {to_state(2, recipient_state::accepted), to_state(3, recipient_state::accepted),
                           to_state(4, recipient_state::accepted)});
        CHECK_FALSE(store.next_due_at("j1"));
        CHECK(store.due_recipients("j1", 1'000'000, 100).empty());
        // One comes back for a retry later, the other accepted: the call is over.
        recipient_update retry = to_state(0, recipient_state::queued, 5000);
        retry.attempts = 1;
        retry.provider = "sms-hk";
        store.apply("j1", {retry});
        CHECK(store.recipients("j1", 0, 1).front().state == recipient_state::queued);
        CHECK(store.recipients("j1", 0, 1).front().attempts == 1);
        CHECK(store.next_due_at("j1") == std::optional<std::int64_t>(5000));
        CHECK(store.apply_if("j1", recipient_state::sending, {to_state(1, recipient_state::accepted)}) ==
              std::vector<std::int64_t>{1});
        CHECK(store.count_by_state("j1").at(recipient_state::sending) == 0);
        CHECK(store.orphaned_in_flight("j1", job_store::caller::this_daemon).empty());
        CHECK(store.claim("j1", {0}, "sms-hk") == std::vector<std::int64_t>{0});  // due again, taken again
        CHECK(store.recipients("j1", 0, 1).front().attempts == 2);
    }
    SECTION("recipients in a call are settled together, keeping their attempt, and a cancel leaves them to their call") {
        // 3 comes back from a voice call for another try; its call now is to sms-hk.
        recipient_update again = to_state(3, recipient_state::queued);
        again.attempts = 1;
        again.provider = "voice";
        store.apply("j1", {again});
        CHECK(store.claim("j1", {3, 4}, "sms-hk").size() == 2);
        CHECK(store.recipients("j1", 0, 100, std::nullopt, "voice").empty());
        CHECK(store.recipients("j1", 0, 100, std::nullopt, "sms-hk").size() == 2);
        CHECK(store.recipients("j1", 3, 1).front().attempts == 2);
        CHECK(store.cancel_job("j1") == 3);
        CHECK(store.count_by_state("j1").at(recipient_state::sending) == 2);
        CHECK(store.settle_all("j1", recipient_state::sending, recipient_state::unknown, "outcome_unknown",
                               "the daemon stopped") == 2);
        const recipient settled = store.recipients("j1", 4, 1).front();
        CHECK(settled.state == recipient_state::unknown);
        CHECK(settled.attempts == 1);
        CHECK(settled.provider == "sms-hk");
        CHECK(settled.code == "outcome_unknown");
        const auto counts = store.count_by_state("j1");
        CHECK(counts.at(recipient_state::sending) == 0);
        CHECK(counts.at(recipient_state::unknown) == 2);
        CHECK(counts.at(recipient_state::cancelled) == 3);
        CHECK(store.recipients("j1", 0, 100, recipient_state::sending).empty());
    }
    SECTION("a call may take recipients scattered over a job, any number of them") {
        // Every other one of 2,500: 1,250 runs, past what one SQL expression may hold.
        store.create_job(a_job("j2", 2500), numbered(2500));
        std::vector<std::int64_t> even;
        for (std::int64_t i = 0; i < 2500; i += 2)
            even.push_back(i);
        CHECK(store.claim("j2", even, "sms-hk").size() == 1250);
        const auto due = store.due_recipients("j2", 1'000'000, 5000);
        REQUIRE(due.size() == 1250);
        CHECK(due.front().index == 1);
        CHECK(store.recipients("j2", 0, 5000, recipient_state::sending).size() == 1250);
        CHECK(store.recipients("j2", 0, 5000, recipient_state::queued).size() == 1250);
        CHECK(store.recipients("j2", 0, 5000, std::nullopt, "sms-hk").size() == 1250);
        CHECK(store.settle_all("j2", recipient_state::queued, recipient_state::cancelled, "cancelled", "cancelled") == 1250);
        CHECK_FALSE(store.next_due_at("j2"));   // those left queued are all in the call
        CHECK(store.due_recipients("j2", 1'000'000, 5000).empty());
        CHECK(store.settle_all("j2", recipient_state::sending, recipient_state::unknown, "outcome_unknown",
                               "the daemon stopped") == 1250);
        CHECK(store.count_by_state("j2").at(recipient_state::unknown) == 1250);
    }
    SECTION("a job deleted with recipients in a call takes its call with it") {
        CHECK(store.claim("j1", {0, 1}, "sms-hk").size() == 2);
        store.finish_job("j1", 5000);
        CHECK(store.delete_finished_before(5001) == 1);
        store.create_job(a_job("j1", 5), numbered(5));   // the id again, a new job
        CHECK(store.recipients("j1", 0, 100, recipient_state::sending).empty());
        CHECK(store.due_recipients("j1", 1'000'000, 100).size() == 5);
        CHECK(store.claim("j1", {0}, "voice") == std::vector<std::int64_t>{0});
    }
    SECTION("recent jobs come newest first") {
        job later = a_job("j2", 1);
        later.created_at_ms = 2000;
        store.create_job(later, numbered(1));
        const auto recent = store.recent_jobs(10);
        REQUIRE(recent.size() == 2);
        CHECK(recent[0].id == "j2");
        CHECK(store.recent_jobs(1).size() == 1);
    }
    SECTION("jobs page by offset and filter by state") {
        for (int i = 2; i <= 4; ++i) {
            job later = a_job("j" + std::to_string(i), 1);
            later.created_at_ms = 1000 + i;
            store.create_job(later, numbered(1));
        }
        store.set_job_state("j3", job_state::finished);
        const auto second_page = store.recent_jobs(2, 2);
        REQUIRE(second_page.size() == 2);
        CHECK(second_page[0].id == "j2");
        CHECK(second_page[1].id == "j1");
        CHECK(store.recent_jobs(10, 4).empty());
        const auto finished = store.recent_jobs(10, 0, job_state::finished);
        REQUIRE(finished.size() == 1);
        CHECK(finished[0].id == "j3");
        CHECK(store.recent_jobs(10, 0, job_state::queued).size() == 3);
    }
    SECTION("recipients filter by the provider of their last attempt") {
        recipient_update to_a = to_state(1, recipient_state::accepted);
        to_a.provider = "sms-a";
        recipient_update to_b = to_state(2, recipient_state::failed);
        to_b.provider = "sms-b";
        recipient_update also_a = to_state(4, recipient_state::failed);
        also_a.provider = "sms-a";
        store.apply("j1", {to_a, to_b, also_a});
        const auto on_a = store.recipients("j1", 0, 100, std::nullopt, "sms-a");
        REQUIRE(on_a.size() == 2);
        CHECK(on_a[0].index == 1);
        CHECK(on_a[1].index == 4);
        const auto failed_on_a = store.recipients("j1", 0, 100, recipient_state::failed, "sms-a");
        REQUIRE(failed_on_a.size() == 1);
        CHECK(failed_on_a[0].index == 4);
        CHECK(store.recipients("j1", 0, 100, std::nullopt, "nobody").empty());
    }
    SECTION("the suppression list: an entry an address and channel, replaced by a second add, found by address") {
        CHECK(store.add_suppressions({{"+85250000001", "sms", "opted out", 1000}, {"+85250000001", "*", "", 1000},
                                      {"+85250000002", "whatsapp", "blocked us", 1000}}) == 3);
        CHECK(store.add_suppressions({{"+85250000001", "sms", "STOP", 2000}}) == 0);   // replaced, not added
        const suppression_index found = store.find_suppressions({"+85250000001", "+85250000001", "+85259999999"});
        REQUIRE(found.size() == 1);
        REQUIRE(found.at("+85250000001").size() == 2);
        const suppression* sms = find_suppression(found, "+85250000001", "sms");
        REQUIRE(sms != nullptr);
        CHECK(sms->reason == "STOP");
        CHECK(sms->created_at_ms == 2000);
        CHECK(find_suppression(found, "+85250000001", "voice")->channel == "*");   // the entry of every channel
        const auto all = store.suppressions(0, 10);
        REQUIRE(all.size() == 3);
        CHECK(all[0].channel == "*");   // address, then channel order
        CHECK(all[2].address == "+85250000002");
        CHECK(store.suppressions(2, 10).size() == 1);
        CHECK(store.remove_suppression("+85250000001", "sms"));
        CHECK_FALSE(store.remove_suppression("+85250000001", "sms"));
        CHECK(store.find_suppressions({"+85250000001"}).at("+85250000001").size() == 1);
    }
    SECTION("failures are grouped by state, code and reason, the largest group first") {
        recipient_update blocked = to_state(0, recipient_state::failed);
        blocked.code = "4001";
        blocked.reason = "blocked";
        recipient_update blocked_too = blocked;
        blocked_too.index = 2;
        recipient_update lost = to_state(3, recipient_state::unknown);
        lost.code = "timeout";
        lost.reason = "no answer";
        store.apply("j1", {blocked, to_state(1, recipient_state::accepted), blocked_too, lost});
        const auto groups = store.failure_groups("j1", 10);
        REQUIRE(groups.size() == 2);
        CHECK(groups[0].state == recipient_state::failed);
        CHECK(groups[0].code == "4001");
        CHECK(groups[0].reason == "blocked");
        CHECK(groups[0].count == 2);
        CHECK(groups[1].state == recipient_state::unknown);
        CHECK(groups[1].count == 1);
        CHECK(store.failure_groups("j1", 1).size() == 1);
    }
    SECTION("a cancelled job sends nothing more, whatever comes back from calls under way") {
        store.apply("j1", {to_state(1, recipient_state::sending), to_state(2, recipient_state::awaiting_receipt)});
        CHECK(store.cancel_job("j1") == 3);
        CHECK(store.find_job("j1")->cancelled);
        auto counts = store.count_by_state("j1");
        CHECK(counts.at(recipient_state::cancelled) == 3);
        CHECK(counts.at(recipient_state::accepted) == 1);   // it was sent; its receipt no longer matters
        CHECK(counts.at(recipient_state::sending) == 1);
        // The call under way comes back wanting a retry, or a fallback: neither happens.
        store.apply("j1", {to_state(1, recipient_state::queued)});
        CHECK(store.recipients("j1", 1, 1).front().state == recipient_state::cancelled);
        CHECK(store.claim("j1", {1}, "p").empty());
        CHECK(store.apply_if("j1", recipient_state::accepted, {to_state(2, recipient_state::awaiting_receipt)}) ==
              std::vector<std::int64_t>{2});
        CHECK(store.recipients("j1", 2, 1).front().state == recipient_state::accepted);
        counts = store.count_by_state("j1");
        CHECK(counts.at(recipient_state::queued) + counts.at(recipient_state::sending) +
                  counts.at(recipient_state::awaiting_receipt) == 0);
    }
    SECTION("totals over every job, for metrics") {
        store.create_job(a_job("j2", 2), numbered(2));
        store.apply("j2", {to_state(0, recipient_state::accepted)});
        store.finish_job("j1", 5);
        CHECK(store.jobs_by_state().at(job_state::finished) == 1);
        CHECK(store.jobs_by_state().at(job_state::queued) == 1);
        CHECK(store.recipients_by_state().at(recipient_state::queued) == 6);
        CHECK(store.recipients_by_state().at(recipient_state::accepted) == 1);
    }
    SECTION("a job keeps its route and region") {
        CHECK(store.find_job("j1")->route_json == R"({"name":"otp","steps":[{"provider":"p","channel":"sms"}]})");
        CHECK(store.find_job("j1")->region == "HK");
    }
    SECTION("a recipient's step and history are kept with it") {
        recipient_update moved = to_state(1, recipient_state::queued);
        moved.step = 2;
        moved.history_json = R"([{"step":0,"result":"failed"}])";
        store.apply("j1", {moved});
        const recipient r = store.recipients("j1", 1, 1).front();
        CHECK(r.step == 2);
        CHECK(r.history_json == R"([{"step":0,"result":"failed"}])");
    }
    SECTION("duplicates are found by address, the first occurrence first") {
        CHECK(store.first_indexes("j1", {"+85250000003", "+85259999999"}) ==
              std::map<std::string, std::int64_t>{{"+85250000003", 3}});
    }
    SECTION("receipts find recipients by provider and message id; polls find those awaiting one") {
        recipient_update a = to_state(0, recipient_state::awaiting_receipt);
        a.provider = "sms-main";
        a.message_id = "session-1";
        recipient_update b = a;
        b.index = 1;
        recipient_update c = a;
        c.index = 2;
        c.state = recipient_state::accepted;
        c.message_id = "session-2";
        store.apply("j1", {a, b, c});
        const auto found = store.find_by_message_id("sms-main", "session-1", "");
        REQUIRE(found.size() == 2);
        CHECK(found[0].first == "j1");
        const auto one = store.find_by_message_id("sms-main", "session-1", "85250000001");  // as vendors write it
        REQUIRE(one.size() == 1);
        CHECK(one[0].second.index == 1);
        CHECK(store.find_by_message_id("sms-main", "session-1", "+85250000001").size() == 1);
        CHECK(store.find_by_message_id("sms-main", "session-1", "+85250000004").empty());
        CHECK(store.find_by_message_id("other-provider", "session-1", "").empty());
        CHECK(store.find_by_message_id("sms-main", "", "").empty());
        CHECK(store.awaiting_message_ids("sms-main", "", 10) == std::vector<std::string>{"session-1"});
        CHECK(store.awaiting_message_ids("sms-main", "session-1", 10).empty());  // a poll pages on past it
        // A receipt applies only while the recipient is still in the state it was read in.
        CHECK(store.apply_if("j1", recipient_state::awaiting_receipt,
                             {to_state(0, recipient_state::delivered), to_state(2, recipient_state::delivered)}) ==
              std::vector<std::int64_t>{0});
    }
    SECTION("receipts that came early are kept until their message ids are taken") {
        CHECK(store.keep_early_receipts("chat", {{"m-1", "+85250000001", "delivered", "", "", 100},
                                                 {"m-2", "+85250000002", "undelivered", "131026", "incapable", 100}},
                                        0, 1000) == 2);
        CHECK(store.take_early_receipts("sms", {"m-1"}).empty());
        const auto taken = store.take_early_receipts("chat", {"m-2", "m-3"});
        REQUIRE(taken.size() == 1);
        CHECK(taken[0].to == "+85250000002");
        CHECK(taken[0].code == "131026");
        CHECK(store.take_early_receipts("chat", {"m-2"}).empty());  // taken once
        store.keep_early_receipts("chat", {{"m-9", "+85250000009", "delivered", "", "", 200}}, 150, 1000);  // the rest expire
        CHECK(store.take_early_receipts("chat", {"m-1"}).empty());
        CHECK(store.take_early_receipts("chat", {"m-9"}).size() == 1);
    }
    SECTION("no more receipts are kept than the bound, over all providers") {
        CHECK(store.keep_early_receipts("chat", {{"a", "", "delivered", "", "", 100}, {"b", "", "delivered", "", "", 100}},
                                        0, 3) == 2);
        CHECK(store.keep_early_receipts("sms", {{"c", "", "delivered", "", "", 100}, {"d", "", "delivered", "", "", 100}},
                                        0, 3) == 1);
        CHECK(store.take_early_receipts("sms", {"c", "d"}).size() == 1);
    }
    SECTION("waits that are over are handed out, and count for the next wake") {
        store.apply("j1", {to_state(0, recipient_state::awaiting_receipt, 7000), to_state(1, recipient_state::accepted),
                           to_state(2, recipient_state::accepted), to_state(3, recipient_state::accepted),
                           to_state(4, recipient_state::accepted)});
        CHECK(store.next_due_at("j1") == std::optional<std::int64_t>(7000));
        CHECK(store.due_recipients("j1", 6999, 10, recipient_state::awaiting_receipt).empty());
        CHECK(store.due_recipients("j1", 7000, 10, recipient_state::awaiting_receipt).size() == 1);
    }
    SECTION("finished jobs are not unfinished, unless a recipient was left without a final state") {
        CHECK(store.unfinished_jobs().size() == 1);
        store.apply("j1", {to_state(0, recipient_state::accepted), to_state(1, recipient_state::accepted),
                           to_state(2, recipient_state::sending), to_state(3, recipient_state::failed),
                           to_state(4, recipient_state::unknown)});
        store.set_job_state("j1", job_state::finished);
        REQUIRE(store.unfinished_jobs().size() == 1);  // one still "in a call" of a process long gone
        CHECK(store.unfinished_jobs().front().id == "j1");
        store.apply("j1", {to_state(2, recipient_state::unknown)});
        CHECK(store.unfinished_jobs().empty());
    }
}


} // namespace switchboard::core::testing
