// The web console in a real browser (Chromium, headless, over its DevTools protocol) against a
// daemon and the CAMS, uSpeedo and VMS simulators, as an operator would use it. Screenshots of each
// page go to CONSOLE_SCREENSHOT_DIR.
#include "headless_browser.hpp"
#include "route_sandbox.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

using namespace switchboard::testing;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const std::string api_key = "console-test-key-0123456789";

route_sandbox_options console_sandbox() {
    route_sandbox_options options;
    options.api_keys = {{"operator", api_key}};
    // WhatsApp reports +85255310002 undelivered: it falls back to SMS.
    options.faults["cams"] = R"({"undelivered_list": ["+85255310002"]})";
    options.routes["fallback"] = json::array{cams_step(), uspeedo_step(), vms_step()};
    return options;
}

fs::path scratch_dir(const std::string& name) {
    static int counter = 0;
    const fs::path dir = fs::temp_directory_path() /
                         ("switchboard-console-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
    return dir;
}

std::string quoted(const std::string& text) { return json::serialize(json::value(text)); }

// The API as the page's own scripts reach it, with the key.
std::string api_in_page(const std::string& path) {
    return "fetch(" + quoted(path) + ", {headers: {Authorization: 'Bearer " + api_key + "'}}).then(r => r.json())";
}

void enter_key(headless_browser& browser, const std::string& key) {
    browser.wait_for("document.querySelector('#key-form') !== null", "the API key form");
    browser.evaluate("document.querySelector('#api-key').value = " + quoted(key) +
                     "; document.querySelector('#key-form').requestSubmit(); true");
}

// Chooses `csv` and `route` on the Submit page and submits; returns the new job's id.
std::string submit_job(headless_browser& browser, const fs::path& csv, const std::string& route,
                       const std::string& extra_script = {}) {
    browser.evaluate("location.hash = '#/submit'; true");
    browser.wait_for("document.querySelector('#route option[value=" + route + "]') !== null", "the configured routes");
    browser.choose_file("#file", csv);
    browser.evaluate("document.querySelector('#route').value = " + quoted(route) + "; " + extra_script +
                     "; document.querySelector('#submit-form').requestSubmit(); true");
    const json::value hash = browser.wait_for("location.hash.startsWith('#/jobs/job_') && location.hash",
                                              "the new job's page after submitting");
    return std::string(hash.as_string()).substr(std::string("#/jobs/").size());
}

// The text of the recipient table's row whose ref cell is `ref`, one cell per entry.
std::string row_cells(const std::string& ref) {
    return "(() => { const row = [...document.querySelectorAll('#recipients tbody tr')].find(tr => tr.cells[2] && "
           "tr.cells[2].textContent === " + quoted(ref) + "); return row ? [...row.cells].map(c => c.textContent) : null; })()";
}

fs::path wait_for_file(const fs::path& file) {
    for (int i = 0; i < 300 && !fs::exists(file); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return file;
}

} // namespace

TEST_CASE("without a key it asks for one, the API answers 401, and a wrong key is refused", "[console]") {
    route_sandbox box(console_sandbox());
    headless_browser browser(scratch_dir("key") / "profile");
    browser.navigate(box.api_url() + "/console/");

    browser.wait_for("document.querySelector('#key-form') !== null", "the API key form");
    CHECK(browser.evaluate("document.body.innerText.includes('without an API key')") == true);
    CHECK(browser.evaluate("fetch('/v1/jobs').then(r => r.status)") == 401);
    // The pages forbid inline scripts and other origins, and carry no secret.
    const std::string policy(browser.evaluate("fetch('/console/').then(r => r.headers.get('content-security-policy'))").as_string());
    CHECK(policy.find("script-src 'self'") != std::string::npos);
    CHECK(policy.find("default-src 'none'") != std::string::npos);
    CHECK(policy.find("unsafe-inline") == std::string::npos);
    CHECK(browser.evaluate("fetch('/console/console.js').then(r => r.text()).then(t => t.includes(" + quoted(api_key) + "))") == false);
    browser.screenshot(fs::path(CONSOLE_SCREENSHOT_DIR) / "key.png");

    enter_key(browser, "not-the-key-0000000000");
    browser.wait_for("document.body.innerText.includes('did not accept that key')", "that the wrong key was refused");
    CHECK(browser.evaluate("sessionStorage.length") == 0);   // a refused key is not kept

    enter_key(browser, api_key);
    browser.wait_for("document.querySelector('#jobs tbody tr') !== null", "the jobs table");
    CHECK(browser.evaluate("document.querySelector('#jobs tbody').innerText.includes('No jobs yet')") == true);
    // An error answer is a message, never a blank page.
    browser.evaluate("location.hash = '#/jobs/job_0000000000000000'; true");
    browser.wait_for("document.querySelector('.error-box')?.textContent.includes('no job job_0000000000000000')",
                     "the API's 404 as a message");
    // Kept in the tab's session storage only: never in the URL, never in a cookie.
    CHECK(browser.evaluate("location.href.includes(" + quoted(api_key) + ")") == false);
    CHECK(browser.evaluate("document.cookie") == "");
}

TEST_CASE("a job submitted from a CSV shows its counts, a recipient's fallback, its failures as text, and "
          "downloads as CSV, and every page renders on a laptop and a phone", "[console]") {
    route_sandbox box(console_sandbox());
    const fs::path dir = scratch_dir("job");
    const fs::path shots(CONSOLE_SCREENSHOT_DIR);
    headless_browser browser(dir / "profile");
    browser.allow_downloads(dir);
    browser.navigate(box.api_url() + "/console/");
    enter_key(browser, api_key);
    browser.wait_for("document.querySelector('#jobs tbody tr') !== null", "the jobs table");

    const fs::path csv = dir / "recipients.csv";
    std::ofstream(csv) << "to,ref,code\n"
                          "+85255310001,plain-person,111111\n"
                          "+85255310002,fallback-person,222222\n"
                          "+85255310003,\"<img src=x onerror=\"\"window.pwned=1\"\">\",333333\n"
                          "<script>window.pwned=2</script>,script-person,444444\n";

    // A file the console cannot read is refused beside the file field, saying why, before any request.
    browser.evaluate("location.hash = '#/submit'; true");
    browser.wait_for("document.querySelector('#route option[value=fallback]') !== null", "the configured routes");
    const fs::path semicolons = dir / "semicolons.csv";
    std::ofstream(semicolons) << "to;ref\n+85255310001;someone\n";
    browser.choose_file("#file", semicolons);
    browser.evaluate("document.querySelector('#route').value = 'fallback'; document.querySelector('#submit-form').requestSubmit(); true");
    const json::value file_error =
        browser.wait_for("!document.querySelector('#file-error').hidden && document.querySelector('#file-error').textContent",
                         "the file's error beside the file field");
    CHECK(std::string(file_error.as_string()).find("only ',' separates them") != std::string::npos);

    // A field the API refuses is named next to that field.
    browser.choose_file("#file", csv);
    browser.evaluate("document.querySelector('#route').value = 'fallback'; document.querySelector('#deadline').value = "
                     "'2001-01-01T00:00'; document.querySelector('#submit-form').requestSubmit(); true");
    const json::value deadline_error =
        browser.wait_for("!document.querySelector('#deadline-error').hidden && document.querySelector('#deadline-error').textContent",
                         "the deadline's error beside the deadline field");
    CHECK(std::string(deadline_error.as_string()).find("later than now") != std::string::npos);
    browser.screenshot(shots / "submit.png");

    const std::string job = submit_job(browser, csv, "fallback", "document.querySelector('#deadline').value = ''");

    // The counts the page shows are the API's, once every receipt is in.
    browser.wait_for(api_in_page("/v1/jobs/" + job) + ".then(j => j.state === 'finished' && (j.counts.delivered || 0) + "
                     "(j.counts.accepted || 0) === 3 && " + row_cells("fallback-person") + "?.[4] === 'uspeedo-sms')",
                     "the job finished with its fallback on SMS");
    browser.wait_for(api_in_page("/v1/jobs/" + job) +
                         ".then(j => Object.entries(j.counts).every(([state, n]) => { const shown = document.querySelector("
                         "'#job-counts li[data-state=' + state + '] strong'); return n === 0 ? !shown : shown && "
                         "shown.textContent === String(n); }))",
                     "the API's counts in the job's legend");
    CHECK(browser.evaluate("document.querySelector('#job-counts li[data-state=skipped_invalid] strong').textContent") == "1");
    CHECK(browser.evaluate("document.querySelector('#job-counts li[data-state=failed]') === null") == true);

    // The recipient that WhatsApp could not reach went on to SMS, and its route says so.
    const json::array fallback = browser.wait_for(row_cells("fallback-person") + "?.[7].includes('cams-wa (whatsapp): undelivered') && " +
                                                      row_cells("fallback-person"),
                                                  "the fallback recipient's route history").as_array();
    CHECK(fallback.at(1) == "+85255310002");
    CHECK(fallback.at(4) == "uspeedo-sms");

    // Values from the job are text: the markup in a ref and in a reason shows as typed and runs nothing.
    const json::value img_row = browser.evaluate(row_cells("<img src=x onerror=\"window.pwned=1\">"));
    REQUIRE(img_row.is_array());
    CHECK(browser.evaluate("document.querySelector('#failures tbody').textContent.includes('<script>window.pwned=2</script>')") == true);
    CHECK(browser.evaluate("document.querySelectorAll('#view img, #view script').length") == 0);
    CHECK(browser.evaluate("typeof window.pwned") == "undefined");
    browser.screenshot(shots / "job.png");

    // The CSV download holds every recipient with its outcome.
    browser.evaluate("document.querySelector('#download-csv').click(); true");
    const fs::path saved = wait_for_file(dir / (job + "-recipients.csv"));
    REQUIRE(fs::exists(saved));
    browser.wait_for("document.body.innerText.includes('Saved 4 recipients')", "the download's end");
    std::stringstream downloaded;
    downloaded << std::ifstream(saved).rdbuf();
    const std::string text = downloaded.str();
    CHECK(std::count(text.begin(), text.end(), '\n') == 5);
    CHECK(text.rfind("index,to,ref,state,provider", 0) == 0);
    CHECK(text.find("+85255310002,fallback-person,") != std::string::npos);
    CHECK(text.find("cams-wa:undelivered") != std::string::npos);

    // A job held until tomorrow, cancelled from its page after a confirmation.
    const std::string held = submit_job(browser, csv, "fallback",
                                        "const at = new Date(Date.now() + 86400000); document.querySelector('#send_at').value = "
                                        "new Date(at - at.getTimezoneOffset() * 60000).toISOString().slice(0, 16)");
    browser.wait_for("document.querySelector('#cancel-job') !== null", "the cancel button");
    browser.evaluate("document.querySelector('#cancel-job').click(); true");
    CHECK(browser.evaluate(api_in_page("/v1/jobs/" + held) + ".then(j => j.is_cancelled)") == false);   // asked, not done
    browser.evaluate("document.querySelector('#confirm-cancel').click(); true");
    browser.wait_for("document.querySelector('#job-counts li[data-state=cancelled] strong')?.textContent === '3'",
                     "three cancelled recipients");
    CHECK(browser.evaluate(api_in_page("/v1/jobs/" + held) + ".then(j => j.is_cancelled)") == true);

    // The jobs page lists both, newest first, each linked to its page; a filter with no match says so.
    browser.evaluate("location.hash = '#/jobs'; true");
    browser.wait_for("document.querySelectorAll('#jobs tbody tr[data-job]').length === 2", "both jobs");
    CHECK(browser.evaluate("document.querySelector('#jobs tbody tr').dataset.job") == json::value(held));
    CHECK(browser.evaluate("document.querySelector('#jobs tr[data-job=" + job + "] a').getAttribute('href')") == json::value("#/jobs/" + job));
    browser.screenshot(shots / "jobs.png");
    // By keyboard alone: Tab reaches the sections, the filter and each job's link, and Enter opens it.
    browser.evaluate("document.querySelector('.brand').focus(); true");   // the page's first stop
    std::vector<std::string> reached;
    for (int i = 0; i < 20 && std::find(reached.begin(), reached.end(), "#/jobs/" + held) == reached.end(); ++i) {
        browser.press("Tab");
        reached.push_back(std::string(browser.evaluate(
            "document.activeElement.getAttribute('href') || '#' + document.activeElement.id").as_string()));
    }
    CHECK(std::find(reached.begin(), reached.end(), "#/providers") != reached.end());
    CHECK(std::find(reached.begin(), reached.end(), "#job-state") != reached.end());
    REQUIRE(reached.back() == "#/jobs/" + held);
    browser.press("Enter");
    browser.wait_for("location.hash === '#/jobs/" + held + "' && document.querySelector('#job-counts li') !== null",
                     "the job's page opened from the keyboard");
    browser.evaluate("location.hash = '#/jobs'; true");
    browser.wait_for("document.querySelectorAll('#jobs tbody tr[data-job]').length === 2", "both jobs again");
    browser.evaluate("location.hash = '#/jobs?state=open'; true");
    browser.wait_for("document.querySelector('#jobs tbody').innerText.includes('No open jobs')", "the empty filter");

    // Providers: every instance with its plugin, rate and health from the calls just made.
    browser.evaluate("location.hash = '#/providers'; true");
    browser.wait_for("document.querySelectorAll('#providers tbody tr').length === 3", "the three provider instances");
    CHECK(browser.evaluate("document.querySelector('#providers tr[data-provider=cams-wa]').innerText.includes('healthy')") == true);
    CHECK(browser.evaluate("document.querySelector('#providers tr[data-provider=uspeedo-sms]').innerText.includes('uspeedo')") == true);
    browser.screenshot(shots / "providers.png");

    // A phone's width: nothing makes the page wider than the screen (tables scroll in their box).
    browser.resize(390, 844, true);
    browser.evaluate("location.hash = '#/jobs/" + job + "'; true");
    browser.wait_for("document.querySelector('#job-counts li') !== null", "the job's counts on a phone");
    CHECK(browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") == true);
    browser.screenshot(shots / "job-phone.png");
}
