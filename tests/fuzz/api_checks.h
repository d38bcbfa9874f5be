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

}  // namespace switchyard::fuzz
