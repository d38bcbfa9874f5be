#include "switchyard/eval/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace switchyard::eval {

namespace fs = std::filesystem;

namespace {

void limit(int resource, rlim_t value) {
  rlimit rl{value, value};
  (void)setrlimit(resource, &rl);
}

}  // namespace

Result<SandboxResult> runPython(const std::string& program, const SandboxOptions& options) {
  std::string tmpl = (fs::temp_directory_path() / "sy-eval-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return fail(ErrorCode::kInternal, std::string("sandbox: mkdtemp: ") + std::strerror(errno));
  }
  const std::string dir = tmpl;
  const std::string file = dir + "/program.py";
  {
    std::ofstream out(file);
    out << program;
  }
  std::string python = options.python;
  if (python.empty()) python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

  int out_pipe[2], flag_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(flag_pipe, O_CLOEXEC) != 0) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    return fail(ErrorCode::kInternal, std::string("sandbox: pipe: ") + std::strerror(errno));
  }
  const auto timeout_s = static_cast<rlim_t>(options.timeout.count() / 1000 + 1);
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], flag_pipe[0], flag_pipe[1]}) close(fd);
    std::error_code ec;
    fs::remove_all(dir, ec);
    return fail(ErrorCode::kInternal, std::string("sandbox: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    setpgid(0, 0);
    const char isolated = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? '1' : '0';
    (void)!write(flag_pipe[1], &isolated, 1);
    limit(RLIMIT_AS, options.memory_bytes);
    limit(RLIMIT_CPU, timeout_s);
    limit(RLIMIT_FSIZE, 16 << 20);
    limit(RLIMIT_NOFILE, 64);
    limit(RLIMIT_CORE, 0);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    if (chdir(dir.c_str()) != 0) _exit(126);
    const char* argv[] = {python.c_str(), "-I", "program.py", nullptr};
    const char* envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
                          nullptr};
    execve(python.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    execvp(python.c_str(), const_cast<char* const*>(argv));
    _exit(127);
  }
  close(out_pipe[1]);
  close(flag_pipe[1]);
  SandboxResult result;
  char flag = '0';
  if (read(flag_pipe[0], &flag, 1) == 1) result.network_isolated = flag == '1';
  close(flag_pipe[0]);

  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    const ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    const std::size_t room = options.max_output - std::min(options.max_output, result.output.size());
    result.output.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  kill(-pid, SIGKILL);  // anything the program left behind in its group
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return result;
}

}  // namespace switchyard::eval
