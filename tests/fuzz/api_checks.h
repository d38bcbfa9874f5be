#pragma once
// Checks on what the API codecs write, shared by the targets over client and upstream bodies.

#include <string>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/core/status.h"
#include "tests/fuzz/fuzz_support.h"

namespace switchyard::fuzz {

// An error, as the OpenAI and the Anthropic endpoints would write it: valid JSON either way.
inline void checkError(const Status& status) {
  SY_FUZZ_CHECK(!status.isOk());
  const std::string o = api::openai::encodeError(status);
  SY_FUZZ_CHECK_MSG(validJson(o), o);
  const std::string a = api::anthropic::encodeError(status);
  SY_FUZZ_CHECK_MSG(validJson(a), a);
}

// The public decoder (`chosen`) and the general one it falls back to give the same error.
template <typename T>
void checkSameError(const Result<T>& chosen, const Result<T>& general) {
  SY_FUZZ_CHECK_MSG(chosen.error().message() == general.error().message(),
                    chosen.error().toString() + "\n  vs general: " + general.error().toString());
  SY_FUZZ_CHECK(chosen.error().param() == general.error().param());
  checkError(general.error());
}

// A fast reader's answer (`fast`: what it accepted, if anything) against the general decoder's,
// and the public decoder, which tries the fast reader first, against both: the same value, or
// the same error. `encode` writes a value for the failure message. True when the input decoded.
template <typename Fast, typename T, typename Encode>
bool checkFastReader(const Fast& fast, const Result<T>& general, const Result<T>& chosen,
                     Encode encode) {
  if (fast) {
    SY_FUZZ_CHECK_MSG(general.has_value(), general.error().toString());
    SY_FUZZ_CHECK_MSG(*fast == *general, encode(*fast) + "\n  vs general: " + encode(*general));
  }
  SY_FUZZ_CHECK(chosen.has_value() == general.has_value());
  if (!general) {
    checkSameError(chosen, general);
    return false;
  }
  SY_FUZZ_CHECK(*chosen == *general);
  return true;
}

}  // namespace switchyard::fuzz
