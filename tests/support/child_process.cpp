#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace switchboard::testing {

pid_t spawn(std::vector<std::string> argv, const std::function<void()>& in_child,
            const std::vector<std::string>& extra_env) {
    std::vector<char*> args;
    for (std::string& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    // Built before fork: the child only calls what is safe between fork and exec.
    std::vector<std::string> env_strings = extra_env;
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e)
        env.push_back(*e);
    for (std::string& e : env_strings)
        env.push_back(e.data());
    env.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        in_child();
        ::execve(args[0], args.data(), env.data());
        ::_exit(127);
    }
    return pid;
}

child_process::child_process(std::vector<std::string> argv, const std::string& stderr_file,
                             const std::vector<std::string>& extra_env)
    : program_(argv.at(0)) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0)
        throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    pid_ = spawn(std::move(argv), [&] {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        if (!stderr_file.empty()) {
            const int fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0)
                ::dup2(fd, STDERR_FILENO);
        }
    }, extra_env);
    ::close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];
}

child_process::~child_process() {
    if (pid_ > 0)
        stop(SIGTERM);
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
}

std::string child_process::wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        for (std::size_t newline; (newline = pending_.find('\n')) != std::string::npos;) {
            const std::string line = pending_.substr(0, newline);
            pending_.erase(0, newline + 1);
            if (line.rfind(prefix, 0) == 0)
                return line.substr(prefix.size());
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw std::runtime_error(program_ + " printed no line starting with '" + prefix + "' in time");
        pollfd fd{stdout_fd_, POLLIN, 0};
        if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char buffer[4096];
        const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
        if (n <= 0)
            throw std::runtime_error(program_ + " exited (or closed stdout) before printing '" + prefix + "'");
        pending_.append(buffer, static_cast<std::size_t>(n));
    }
}

int child_process::stop(int signal) {
    if (pid_ <= 0)
        return 0;
    if (signal != 0)
        ::kill(pid_, signal);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        ::usleep(10'000);
    }
    pid_ = -1;
    return status;
}

std::string wait_for_listening(child_process& process) { return process.wait_for_line("listening on "); }

} // namespace switchboard::testing
