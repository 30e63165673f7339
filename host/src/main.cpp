// The `switchboard` program: one binary, one subcommand per task.
#include "config_check_command.hpp"
#include "jobs_command.hpp"
#include "suppress_command.hpp"
#include "plugin_check_command.hpp"
#include "plugin_scaffold.hpp"
#include "plugins_command.hpp"
#include "send_command.hpp"
#include "serve_command.hpp"

#include <CLI/CLI.hpp>

#include <fstream>

#include <cstdlib>
#include <iostream>

#include <unistd.h>

namespace {

void add_plugins_command(CLI::App& app, int& exit_code) {
    namespace fs = std::filesystem;
    CLI::App* plugins = app.add_subcommand("plugins", "List, inspect, check and start provider plugins");
    // Not require_subcommand(1): CLI11 would then answer a mistyped subcommand with "A subcommand is
    // required" instead of naming the word it did not expect.
    plugins->require_subcommand(0, 1);
    plugins->callback([plugins] {
        if (plugins->get_subcommands().empty())
            throw CLI::CallForHelp();
    });

    struct list_options {
        std::vector<fs::path> dirs;
        bool json = false;
    };
    auto list = std::make_shared<list_options>();
    CLI::App* list_cmd = plugins->add_subcommand("list", "Every plugin in the plugin directories, with its limits");
    list_cmd->add_option("--plugin-dir", list->dirs, "A directory to look in (repeatable); default: " +
                                                         switchboard::host::default_plugin_dir().string());
    list_cmd->add_flag("--json", list->json, "Print the manifests as a JSON array");
    list_cmd->callback([list, &exit_code] {
        if (list->dirs.empty())
            list->dirs.push_back(switchboard::host::default_plugin_dir());
        exit_code = switchboard::host::list_plugins(list->dirs, list->json, std::cout, std::cerr);
    });

    struct inspect_options {
        fs::path file;
        bool json = false;
        fs::path config;
    };
    auto inspect = std::make_shared<inspect_options>();
    CLI::App* inspect_cmd = plugins->add_subcommand("inspect", "A plugin file's manifest, or why it cannot load");
    inspect_cmd->add_option("FILE", inspect->file, "The plugin's shared library")->required();
    inspect_cmd->add_flag("--json", inspect->json, "Print the manifest as JSON");
    inspect_cmd->add_option("--config", inspect->config,
                            "A JSON file with what a provider's \"config\" holds: an instance is created with it, "
                            "as the daemon would at start");
    inspect_cmd->callback([inspect, &exit_code] {
        exit_code =
            switchboard::host::inspect_plugin(inspect->file, inspect->json, inspect->config, std::cout, std::cerr);
    });

    struct new_options {
        std::string name;
        fs::path dir = ".";
    };
    auto scaffold = std::make_shared<new_options>();
    CLI::App* new_cmd = plugins->add_subcommand(
        "new", "Write an out-of-tree plugin project (source, CMake, tests, README) that builds against the installed SDK");
    new_cmd->add_option("NAME", scaffold->name, "The plugin's name: the file will be NAME.so")->required();
    new_cmd->add_option("--dir", scaffold->dir, "Where the project's folder NAME is made")->capture_default_str();
    new_cmd->callback([scaffold, &exit_code] {
        exit_code = switchboard::host::new_plugin_project(scaffold->name, scaffold->dir, std::cout, std::cerr);
    });

    auto check = std::make_shared<switchboard::host::plugin_check_options>();
    CLI::App* check_cmd = plugins->add_subcommand(
        "check", "Conformance: run every rule of the provider ABI against a plugin file, each in its own process");
    check_cmd->add_option("FILE", check->file, "The plugin's shared library");
    check_cmd->add_option("--config", check->config, "A JSON file with what a provider's \"config\" holds (default: {})");
    check_cmd->add_option("--step", check->step,
                          "A JSON file with one route step, without \"provider\" (default: the first channel alone)");
    check_cmd->add_option("--params", check->params,
                          "A JSON file with the params every sample recipient gets (default: \"123456\" for each name "
                          "in the step's \"params\")");
    check_cmd->add_option("--only", check->only, "Run only this case (repeatable); --list shows the names");
    check_cmd->add_flag("--list", check->list, "List the cases and the rule each checks");
    check_cmd->add_flag("--json", check->json, "Print the report (or the list) as JSON");
    check_cmd->add_option("--timeout", check->case_timeout_s, "Seconds a case may take before it counts as a hang")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 3600.0));
    check_cmd->add_option("--call-budget-ms", check->call_budget_ms, "Milliseconds one full-batch call may take (time.full_call)")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 600000.0));
    check_cmd->add_option("--seed", check->seed, "Seed of fuzz.documents")->capture_default_str();
    check_cmd->callback([check, &exit_code] {
        exit_code = switchboard::host::check_plugin(*check, std::cout, std::cerr);
    });
}

void add_serve_command(CLI::App& app, int& exit_code) {
    auto config = std::make_shared<std::filesystem::path>();
    CLI::App* serve = app.add_subcommand("serve", "Run the daemon: load providers and routes, serve the HTTP API");
    serve->add_option("--config,-c", *config, "The configuration file (JSON; comments allowed)")->required();
    serve->callback([config, &exit_code] { exit_code = switchboard::host::serve(*config); });
}

// The daemon's API key: --api-key (seen by anyone who lists processes, so rather not),
// --api-key-file (the first line of a file), or $SWITCHBOARD_API_KEY.
void add_api_key_options(CLI::App* command, std::string& key) {
    CLI::Option* given = command->add_option("--api-key", key,
                                             "The daemon's API key (default: $SWITCHBOARD_API_KEY); any user can see it "
                                             "in the process list: prefer the variable or --api-key-file")
                             ->envname("SWITCHBOARD_API_KEY");
    command
        ->add_option_function<std::string>(
            "--api-key-file",
            [&key](const std::string& file) {
                std::ifstream in(file);
                std::getline(in, key);
                if (!in && key.empty())
                    throw CLI::ValidationError("--api-key-file", file + " cannot be read");
                if (key.empty())
                    throw CLI::ValidationError("--api-key-file", file + " holds no key on its first line");
            },
            "A file whose first line is the daemon's API key")
        ->check(CLI::ExistingFile)
        ->excludes(given);
}

void add_jobs_command(CLI::App& app, int& exit_code) {
    using switchboard::host::jobs_options;
    CLI::App* jobs = app.add_subcommand("jobs", "A running daemon's jobs: list, show, recipients, cancel");
    jobs->require_subcommand(0, 1);
    jobs->callback([jobs] {
        if (jobs->get_subcommands().empty())
            throw CLI::CallForHelp();
    });
    auto options = std::make_shared<jobs_options>();
    jobs->add_option("--server", options->server, "The daemon's URL")->capture_default_str();
    add_api_key_options(jobs, options->api_key);

    // --server and --api-key may also come after the subcommand: its subcommands fall through to it.
    jobs->fallthrough();
    CLI::App* list = jobs->add_subcommand("list", "The most recent jobs, newest first");
    list->fallthrough();
    list->add_option("--limit", options->limit, "How many")->capture_default_str()->check(CLI::Range(1, 1000));
    list->callback([options, &exit_code] { exit_code = switchboard::host::list_jobs(*options, std::cout, std::cerr); });

    CLI::App* show = jobs->add_subcommand("show", "One job's state and counts");
    show->fallthrough();
    show->add_option("ID", options->job_id, "The job's id")->required();
    show->callback([options, &exit_code] { exit_code = switchboard::host::show_job(*options, std::cout, std::cerr); });

    CLI::App* recipients = jobs->add_subcommand("recipients", "Each recipient's outcome");
    recipients->fallthrough();
    recipients->add_option("ID", options->job_id, "The job's id")->required();
    recipients->add_option("--state", options->state, "Only recipients in this state (failed, accepted, ...)");
    recipients->callback(
        [options, &exit_code] { exit_code = switchboard::host::show_recipients(*options, std::cout, std::cerr); });

    CLI::App* cancel = jobs->add_subcommand("cancel", "Cancel every recipient not yet sent");
    cancel->fallthrough();
    cancel->add_option("ID", options->job_id, "The job's id")->required();
    cancel->callback([options, &exit_code] { exit_code = switchboard::host::cancel_job(*options, std::cout, std::cerr); });
}

void add_suppress_command(CLI::App& app, int& exit_code) {
    using switchboard::host::suppress_options;
    CLI::App* suppress = app.add_subcommand("suppress", "A running daemon's suppression list: add, remove, list, import");
    suppress->require_subcommand(0, 1);
    suppress->callback([suppress] {
        if (suppress->get_subcommands().empty())
            throw CLI::CallForHelp();
    });
    auto options = std::make_shared<suppress_options>();
    suppress->add_option("--server", options->server, "The daemon's URL")->capture_default_str();
    add_api_key_options(suppress, options->api_key);
    suppress->fallthrough();

    const auto channel_option = [options](CLI::App* command, const char* what) {
        command->add_option("--channel", options->channel, what)->capture_default_str();
    };
    CLI::App* add = suppress->add_subcommand("add", "Never message ADDRESS again (on one channel, or on every one)");
    add->fallthrough();
    add->add_option("ADDRESS", options->address, "A phone number (any spelling) or a platform's user id")->required();
    channel_option(add, "The channel (sms, whatsapp, ...) or * for every channel");
    add->add_option("--reason", options->reason, "Why (for example: opted out by SMS STOP)");
    add->callback([options, &exit_code] { exit_code = switchboard::host::add_suppression(*options, std::cout, std::cerr); });

    CLI::App* remove = suppress->add_subcommand("remove", "Take ADDRESS off the list for one channel (or for *)");
    remove->fallthrough();
    remove->add_option("ADDRESS", options->address, "The address as added")->required();
    channel_option(remove, "The channel of the entry, or * for the entry of every channel");
    remove->callback([options, &exit_code] { exit_code = switchboard::host::remove_suppression(*options, std::cout, std::cerr); });

    CLI::App* list = suppress->add_subcommand("list", "Every entry, in address order");
    list->fallthrough();
    list->callback([options, &exit_code] { exit_code = switchboard::host::list_suppressions(*options, std::cout, std::cerr); });

    CLI::App* import = suppress->add_subcommand(
        "import", "Add every address of a CSV file (a 'to' column; optional 'channel' and 'reason' columns)");
    import->fallthrough();
    import->add_option("FILE", options->file, "The CSV file")->required()->check(CLI::ExistingFile);
    channel_option(import, "The channel of rows without a 'channel' column");
    import->add_option("--reason", options->reason, "The reason of rows without a 'reason' column");
    import->callback([options, &exit_code] { exit_code = switchboard::host::import_suppressions(*options, std::cout, std::cerr); });
}

void add_config_command(CLI::App& app, int& exit_code) {
    CLI::App* config = app.add_subcommand("config", "Check a configuration file");
    config->require_subcommand(0, 1);
    config->callback([config] {
        if (config->get_subcommands().empty())
            throw CLI::CallForHelp();
    });
    auto file = std::make_shared<std::filesystem::path>();
    CLI::App* check = config->add_subcommand(
        "check", "Everything `serve` checks at start (settings, secrets, plugins and their settings, routes), without serving");
    check->add_option("FILE", *file, "The configuration file")->required();
    check->callback([file, &exit_code] { exit_code = switchboard::host::check_config(*file, std::cout, std::cerr); });
}

void add_send_command(CLI::App& app, int& exit_code) {
    using switchboard::host::recipients_format;
    auto options = std::make_shared<switchboard::host::send_options>();
    CLI::App* send = app.add_subcommand(
        "send", "Submit a job from a CSV or JSON file to a running daemon, show its progress, print a summary");
    send->add_option("--server", options->server, "The daemon's URL")->capture_default_str();
    send->add_option("--route", options->route, "The route to send on")->required();
    send->add_option("RECIPIENTS", options->recipients_file,
                     "A CSV file with a header row (to, ref, and a column per parameter) or a JSON array of "
                     "{\"to\", \"params\", \"ref\"}")
        ->required()
        ->check(CLI::ExistingFile);
    auto format = std::make_shared<std::string>();
    send->add_option("--format", *format, "csv or json (default: by the file's extension)")
        ->check(CLI::IsMember({"csv", "json"}, CLI::ignore_case));
    send->add_option("--idempotency-key", options->idempotency_key,
                     "The job's idempotency key: sending again with it follows the same job, never sends twice");
    send->add_option("--region", options->region, "Read numbers without a country code in this region (HK, CN, ...)");
    send->add_option("--send-at", options->send_at, "Hold the job until this time (RFC 3339, e.g. 2026-11-23T17:00:00Z)");
    send->add_option("--deadline", options->deadline, "Fail what is not sent by this time (RFC 3339)");
    send->add_option("--timeout", options->timeout_seconds, "Seconds to wait for the job to finish (0: no limit)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    send->add_option("--page-size", options->page_size,
                     "Recipients per upload request; a larger job goes up as an open job in pages")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    send->add_flag("--all", options->list_all,
                   "List every recipient at the end (default: all of a job of up to 100, else those not accepted)");
    add_api_key_options(send, options->api_key);
    send->callback([options, format, &exit_code] {
        if (!format->empty())
            options->format = *format == "csv" ? recipients_format::csv : recipients_format::json;
        // A live progress line on a terminal; plain lines in a pipe, a file, a log.
        const char* term = std::getenv("TERM");
        options->live_progress = ::isatty(STDERR_FILENO) != 0 && (term == nullptr || std::string(term) != "dumb");
        exit_code = switchboard::host::send_job(*options, std::cout, std::cerr);
    });
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Switchboard: a messaging gateway with vendor provider plugins"};
    app.set_version_flag("--version", SWITCHBOARD_VERSION);
    app.require_subcommand(1);
    int exit_code = 0;
    add_plugins_command(app, exit_code);
    add_serve_command(app, exit_code);
    add_send_command(app, exit_code);
    add_config_command(app, exit_code);
    add_jobs_command(app, exit_code);
    add_suppress_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return exit_code;
}
