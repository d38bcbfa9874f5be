// Text the guard scans (request messages, model output), through the detector, redaction and
// its reversal, and the streaming scanner.
//
// Properties: nothing crashes, leaks or trips UBSan; findings are sorted, non-overlapping, inside
// the text and never split a UTF-8 character of valid text; redacting with a vault and
// restoring gives the text back (when the text holds no '[' that could pass for a placeholder);
// the streaming scanner, fed the text in reads of any size, reports sorted, non-overlapping
// findings that cover everything the whole-text scan finds, and emits exactly the text redacted
// at its findings (PEM blocks aside, see below).
//
// Covering, not equal: the scanner judges each read with the last bytes it emitted as context;
// when that context starts inside a long secret ("token=...Ze4key"), the "key" at the secret's
// end, which the whole-text scan consumed into it, can make the value after it a secret too.
// Redacting more than the whole-text scan is the safe side; redacting less would be a leak.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/guard/detector.h"
#include "switchyard/guard/redact.h"
#include "switchyard/guard/stream_scanner.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace guard = switchyard::guard;

const guard::Detector& detector() {
  static const std::unique_ptr<guard::Detector> d = [] {
    guard::DetectorOptions options;
    options.regexes.push_back(
        {"EMPLOYEE_ID", R"(\bEMP-(\d{6})\b)", "", guard::Category::kCustom, false, 1});
    options.deny_lists.push_back({"PROJECT", {"bluebird", "Project Falcon"}});
    auto made = guard::Detector::create(options);
    if (!made)
      switchyard::fuzz::fail("Detector::create", __FILE__, __LINE__, made.error().message());
    return std::move(*made);
  }();
  return *d;
}

bool continuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Well-formed enough for the boundary property: lead bytes followed by their continuations.
bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if (!continuationByte(s[i + k])) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const guard::Detector& d = detector();

  const std::vector<guard::Finding> findings = d.scan(text);
  const bool utf8 = validUtf8(text);
  std::size_t previous_end = 0;
  for (const guard::Finding& f : findings) {
    SY_FUZZ_CHECK(f.begin < f.end && f.end <= text.size());
    SY_FUZZ_CHECK(f.begin >= previous_end);
    previous_end = f.end;
    if (utf8) {
      SY_FUZZ_CHECK_MSG(!continuationByte(text[f.begin]), f.type);
      SY_FUZZ_CHECK_MSG(f.end == text.size() || !continuationByte(text[f.end]), f.type);
    }
  }

  guard::Vault vault;
  const std::string redacted = guard::redact(text, findings, guard::Style::kTyped, &vault);
  if (text.find('[') == std::string_view::npos) {
    SY_FUZZ_CHECK_MSG(guard::restore(redacted, vault) == text, redacted);
  }

  // The streaming scanner holds a PEM block while it looks open and decides its end from what
  // has arrived, so a garbled block (a second BEGIN inside, junk between its lines) may end
  // elsewhere than in one scan of the whole text; either way its lines are redacted. The
  // property holds for everything else.
  if (text.find("-----BEGIN") != std::string_view::npos) return 0;
  const std::size_t read_size = 1 + (size == 0 ? 0 : data[0] % 64);
  guard::StreamScanner scanner(d, nullptr);
  std::string streamed;
  std::vector<guard::Finding> streamed_findings;
  const auto take = [&](guard::StreamScanner::Output out) {
    streamed += out.text;
    streamed_findings.insert(streamed_findings.end(), out.findings.begin(), out.findings.end());
  };
  for (std::size_t at = 0; at < text.size(); at += read_size) {
    take(scanner.push(text.substr(at, read_size)));
  }
  take(scanner.finish());

  previous_end = 0;
  for (const guard::Finding& f : streamed_findings) {
    SY_FUZZ_CHECK(f.begin < f.end && f.end <= text.size());
    SY_FUZZ_CHECK(f.begin >= previous_end);
    previous_end = f.end;
  }
  // Every byte the whole-text scan redacts lies inside a streamed finding.
  std::size_t next = 0;
  for (const guard::Finding& f : findings) {
    for (std::size_t at = f.begin; at < f.end;) {
      while (next < streamed_findings.size() && streamed_findings[next].end <= at) ++next;
      const bool covered = next < streamed_findings.size() && streamed_findings[next].begin <= at;
      SY_FUZZ_CHECK_MSG(covered, std::string(f.type) + " at " + std::to_string(f.begin) +
                                     " left in the clear by the stream");
      at = streamed_findings[next].end;
    }
  }
  const std::string expected = guard::redact(text, streamed_findings, guard::Style::kTyped);
  SY_FUZZ_CHECK_MSG(streamed == expected, "streamed: " + streamed + "\n  expected: " + expected);
  return 0;
}
