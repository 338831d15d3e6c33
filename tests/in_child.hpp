#pragma once
// Runs a piece of a test in a forked child, for checks that, when they fail,
// would hang or exhaust the test process: a read blocked on a FIFO, a plan
// that never stops growing. The deadline only bounds a failure; a passing
// check returns at once, so no test depends on how fast the machine is.
//
//   child_result r = run_in_child([&] { load_config(fifo, {}); });
//   CHECK_THAT(r.message, Contains("not a regular file (a FIFO)"));
//   r.peak_rss_growth_kib   // ru_maxrss after the call minus before it

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

namespace saelab::testing {

struct child_result {
  std::string message;  // what it threw; "(no error)"; "(blocked)" past the deadline; "(died)"
  long peak_rss_growth_kib = 0;
};

template <class F>
child_result run_in_child(F f, int deadline_seconds = 60) {
  int fds[2];
  if (::pipe(fds) != 0) return {"(pipe failed)"};
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t pid = ::fork();
  if (pid < 0) return {"(fork failed)"};
  if (pid == 0) {
    ::close(fds[0]);
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    std::string out;
    try {
      f();
      out = "(no error)";
    } catch (const std::exception& e) {
      out = e.what();
    } catch (...) {
      out = "(unknown exception)";
    }
    ::getrusage(RUSAGE_SELF, &after);
    out = std::to_string(after.ru_maxrss - before.ru_maxrss) + "\n" + out;
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);  // no Catch2 or static destructors in the child
  }
  ::close(fds[1]);
  std::string got;
  bool blocked = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(deadline_seconds);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    const int ready = left.count() <= 0 ? 0 : ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      blocked = true;
      break;
    }
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (blocked) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (blocked) return {"(blocked)"};
  const auto nl = got.find('\n');
  if (nl == std::string::npos) return {"(died)"};
  return {got.substr(nl + 1), std::stol(got.substr(0, nl))};
}

}  // namespace saelab::testing
