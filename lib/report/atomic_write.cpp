#include "report/atomic_write.hpp"

#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace saelab {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& path, std::string_view bytes) {
  // The pid keeps two processes writing the same figure from sharing a temporary.
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw std::runtime_error(path.string() + ": cannot write (directory missing or not writable?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error(path.string() + ": cannot rename temporary into place: " + ec.message());
  }
}

}  // namespace saelab
