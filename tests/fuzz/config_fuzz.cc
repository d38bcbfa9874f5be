// YAML configuration text, as `switchyard serve --config` and `config check` read it.
//
// Properties: nothing crashes, hangs, leaks or trips UBSan, whatever the bytes; a rejected file
// gets an error that names it ("fuzz.yaml: ..." or "fuzz.yaml:LINE: ..."), as every config
// error must.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/config/config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = switchyard::config::parseConfig(yaml, "fuzz.yaml");
  if (!config) {
    const std::string& message = config.error().message();
    SY_FUZZ_CHECK_MSG(message.starts_with("fuzz.yaml"), message);
  }
  return 0;
}
