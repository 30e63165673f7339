#include "plugin_check_command.hpp"

#include "plugin_check_cases.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <ostream>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace switchboard::host {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

struct case_result {
    std::string name;
    std::string outcome;   // "pass", "fail", "skip"
    std::string message;
    double ms = 0;
};

class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A JSON object from `file`, as text; `what` says what it should hold.
std::string read_object(const fs::path& file, const char* option, const char* what) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw usage_error(std::string(option) + " " + file.string() + ": cannot be read");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    const json::value doc = json::parse(text, ec);
    if (ec || !doc.is_object())
        throw usage_error(std::string(option) + " " + file.string() + ": expected one JSON object (" + what + ")" +
                          (ec ? ", but it is not JSON: " + ec.message() : ""));
    return json::serialize(doc);
}

check_inputs inputs_from(const plugin_check_options& options) {
    check_inputs in;
    in.file = options.file;
    if (!options.config.empty())
        in.config_json = read_object(options.config, "--config", "what a provider's \"config\" holds");
    if (!options.step.empty())
        in.step_json = read_object(options.step, "--step", "one route step, such as {\"channel\": \"sms\", \"template\": \"T1\"}");
    if (!options.params.empty())
        in.params_json = read_object(options.params, "--params", "a recipient's params, such as {\"code\": \"123456\"}");
    in.call_budget_ms = options.call_budget_ms;
    in.seed = options.seed;
    return in;
}

std::vector<const check_case*> selected(const std::vector<std::string>& only) {
    std::vector<const check_case*> out;
    for (const check_case& c : all_check_cases())
        if (only.empty() || std::find(only.begin(), only.end(), c.name) != only.end())
            out.push_back(&c);
    for (const std::string& name : only)
        if (std::none_of(out.begin(), out.end(), [&](const check_case* c) { return c->name == name; }))
            throw usage_error("--only " + name + ": no case has that name; `switchboard plugins check --list` shows them");
    return out;
}

// In the forked child: runs the case and writes "outcome\nmessage" to `fd`.
[[noreturn]] void run_child(const check_case& c, const check_inputs& inputs, int fd) {
    dup2(STDERR_FILENO, STDOUT_FILENO);   // whatever the plugin prints stays out of the report
    std::string outcome = "pass";
    std::string message;
    try {
        check_env env(inputs);
        c.run(env);
    } catch (const case_failed& e) {
        outcome = "fail";
        message = e.what();
    } catch (const case_skipped& e) {
        outcome = "skip";
        message = e.what();
    } catch (const std::exception& e) {
        outcome = "fail";
        message = std::string("the case could not finish: ") + e.what();
    }
    const std::string report = outcome + "\n" + message;
    for (std::size_t written = 0; written < report.size();) {
        const ssize_t n = write(fd, report.data() + written, report.size() - written);
        if (n <= 0)
            break;
        written += static_cast<std::size_t>(n);
    }
    _exit(0);
}

std::string describe_exit(int status) {
    if (WIFSIGNALED(status))
        return fmt::format("the plugin crashed the case's process (signal {}, {})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return fmt::format("the plugin ended the case's process with exit({}); a plugin never exits its host", WEXITSTATUS(status));
    return "the case's process ended without a result";
}

case_result run_isolated(const check_case& c, const check_inputs& inputs, double timeout_s) {
    case_result result{c.name, "fail", {}, 0};
    const auto start = std::chrono::steady_clock::now();
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error(std::string("cannot fork: ") + std::strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        run_child(c, inputs, fds[1]);
    }
    close(fds[1]);
    std::string report;
    const auto deadline = start + std::chrono::duration<double>(timeout_s);
    bool timed_out = false;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int ready = poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR)
            break;
        if (ready <= 0)
            continue;   // the deadline is checked at the top
        char buffer[4096];
        const ssize_t n = read(fds[0], buffer, sizeof buffer);
        if (n == 0)
            break;
        if (n > 0)
            report.append(buffer, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (timed_out) {
        result.message = fmt::format("did not finish within {:g} s: a call into the plugin hangs or is far too slow "
                                     "(--timeout sets the limit)", timeout_s);
        return result;
    }
    const std::size_t newline = report.find('\n');
    if (newline == std::string::npos || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        result.message = describe_exit(status);
        return result;
    }
    result.outcome = report.substr(0, newline);
    result.message = report.substr(newline + 1);
    return result;
}

void print_list(bool as_json, std::ostream& out) {
    if (as_json) {
        json::array cases;
        for (const check_case& c : all_check_cases())
            cases.push_back(json::object{{"name", c.name}, {"rule", c.rule}});
        out << json::serialize(cases) << '\n';
        return;
    }
    for (const check_case& c : all_check_cases())
        out << fmt::format("{:<32} {}\n", c.name, c.rule);
}

void print_line(const case_result& r, std::ostream& out) {
    const char* label = r.outcome == "pass" ? "pass" : r.outcome == "skip" ? "skip" : "FAIL";
    out << fmt::format("  {}  {:<32} {:>7.0f} ms\n", label, r.name, r.ms);
    if (!r.message.empty() && r.outcome != "pass")
        out << "        " << r.message << '\n';
    out.flush();
}

} // namespace

int check_plugin(const plugin_check_options& options, std::ostream& out, std::ostream& err) {
    if (options.list) {
        print_list(options.json, out);
        return 0;
    }
    std::vector<const check_case*> cases;
    check_inputs inputs;
    try {
        if (options.file.empty())
            throw usage_error("FILE is required: the plugin's shared library");
        cases = selected(options.only);
        inputs = inputs_from(options);
    } catch (const usage_error& e) {
        err << "error: " << e.what() << '\n';
        return 2;
    }
    if (!options.json)
        out << "checking " << options.file.string() << " (" << cases.size() << (cases.size() == 1 ? " case" : " cases")
            << ", each in its own process)\n" << std::flush;
    std::vector<case_result> results;
    for (const check_case* c : cases) {
        results.push_back(run_isolated(*c, inputs, options.case_timeout_s));
        if (!options.json)
            print_line(results.back(), out);
    }
    const auto count = [&](const char* outcome) {
        return std::count_if(results.begin(), results.end(), [&](const case_result& r) { return r.outcome == outcome; });
    };
    std::vector<std::string> failed;
    for (const case_result& r : results)
        if (r.outcome == "fail")
            failed.push_back(r.name);
    if (options.json) {
        json::array items;
        for (const case_result& r : results)
            items.push_back(json::object{{"name", r.name}, {"outcome", r.outcome}, {"message", r.message}, {"ms", r.ms}});
        json::array failed_names(failed.begin(), failed.end());
        out << json::serialize(json::object{{"file", options.file.string()}, {"passed", count("pass")},
                                            {"failed", count("fail")}, {"skipped", count("skip")},
                                            {"failed_cases", std::move(failed_names)}, {"cases", std::move(items)}})
            << '\n';
    } else {
        out << fmt::format("{} passed, {} failed, {} skipped\n", count("pass"), count("fail"), count("skip"));
        if (!failed.empty()) {
            std::string names;
            for (const std::string& name : failed)
                names += (names.empty() ? "" : ", ") + name;
            out << "failed: " << names << '\n';
        }
    }
    return failed.empty() ? 0 : 1;
}

} // namespace switchboard::host
