// A program started by a test as a real, separate process: its stdout is read line by line, and
// it is stopped (SIGTERM, then SIGKILL) when the object goes away.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace switchboard::testing {

// Forks and runs `argv` with this process's environment and `extra_env` ("NAME=value") besides;
// the child dies with the test, even when the test itself is killed (a timeout, a crash).
// `in_child` runs in the child just before exec, to set up its file descriptors: only calls that
// are safe between fork and exec. Returns the child's pid; throws std::runtime_error when fork fails.
pid_t spawn(std::vector<std::string> argv, const std::function<void()>& in_child,
            const std::vector<std::string>& extra_env = {});

class child_process {
public:
    // Starts `argv[0]` with `argv`; stderr goes to `stderr_file` (empty: inherited). The child has
    // this process's environment, and `extra_env` ("NAME=value") besides.
    explicit child_process(std::vector<std::string> argv, const std::string& stderr_file = {},
                           const std::vector<std::string>& extra_env = {});
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    // Reads stdout until a line starting with `prefix` and returns the rest of it. Throws
    // std::runtime_error naming the program when it exits or `timeout` passes first.
    std::string wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout = std::chrono::seconds(20));

    // Sends `signal` (0: none, just wait) and waits for the exit, killing it after 10 s; returns
    // the exit status as waitpid reports it.
    int stop(int signal);
    pid_t pid() const noexcept { return pid_; }

private:
    std::string program_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string pending_;
};

// "http://127.0.0.1:40123" from a process that printed "listening on http://127.0.0.1:40123".
std::string wait_for_listening(child_process& process);

} // namespace switchboard::testing
