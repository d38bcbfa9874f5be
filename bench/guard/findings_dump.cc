// Findings of the default detector (plus a deny list) for each of a file's \0-separated texts,
// one line each: text index, type, begin, end. findings_diff.sh builds this against two trees'
// sy_guard and compares the outputs (a check that a speed-up changed no finding).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include "switchyard/guard/detector.h"
using namespace switchyard::guard;
int main(int argc, char** argv) {
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss; ss << in.rdbuf(); std::string all = ss.str();
  DetectorOptions o;
  o.deny_lists = {{"CODENAME", {"Project Bluebird", "Nightjar", "Kestrel", "sparrow"}}};
  auto d = std::move(*Detector::create(o));
  std::size_t idx = 0, pos = 0;
  while (pos < all.size()) {
    std::size_t z = all.find('\0', pos); if (z == std::string::npos) z = all.size();
    std::string_view t(all.data() + pos, z - pos);
    for (const auto& f : d->scan(t)) {
      std::printf("%zu %s %zu %zu\n", idx, f.type.c_str(), f.begin, f.end);
    }
    ++idx; pos = z + 1;
  }
  std::fprintf(stderr, "%zu texts\n", idx);
}
