#pragma once
// Golden-file helpers for the Anthropic codec tests: files live in testdata/; JSON is compared
// as parsed values (so formatting does not matter), SSE event by event. SY_UPDATE_GOLDEN=1
// rewrites the expected files instead (review the diff before committing).

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace switchyard::api::anthropic::testing {

inline std::string testdataPath(const std::string& name) {
  return std::string(SY_TESTDATA_DIR) + "/" + name;
}

inline std::string readTestdata(const std::string& name) {
  std::ifstream in(testdataPath(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing testdata file " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool updateGolden() {
  const char* v = std::getenv("SY_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

inline void writeGolden(const std::string& name, const std::string& text) {
  std::ofstream out(testdataPath(name), std::ios::binary);
  out << text;
}

// (event name, parsed data) for every event of an SSE text.
inline std::vector<std::pair<std::string, boost::json::value>> parseSse(const std::string& text) {
  std::vector<std::pair<std::string, boost::json::value>> events;
  std::istringstream in(text);
  std::string line;
  std::string event;
  std::string data;
  auto flush = [&] {
    if (!data.empty()) events.emplace_back(event, boost::json::parse(data));
    event.clear();
    data.clear();
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
    } else if (line.rfind("event: ", 0) == 0) {
      event = line.substr(7);
    } else if (line.rfind("data: ", 0) == 0) {
      data += line.substr(6);
    }
  }
  flush();
  return events;
}

inline std::string pretty(const boost::json::value& v) { return boost::json::serialize(v); }

inline void expectJsonGolden(const std::string& name, const std::string& actual) {
  if (updateGolden()) {
    writeGolden(name, pretty(boost::json::parse(actual)) + "\n");
    return;
  }
  const boost::json::value want = boost::json::parse(readTestdata(name));
  const boost::json::value got = boost::json::parse(actual);
  EXPECT_EQ(want, got) << name << "\nwant: " << pretty(want) << "\n got: " << pretty(got);
}

inline void expectSseGolden(const std::string& name, const std::string& actual) {
  if (updateGolden()) {
    writeGolden(name, actual);
    return;
  }
  const auto want = parseSse(readTestdata(name));
  const auto got = parseSse(actual);
  ASSERT_EQ(want.size(), got.size()) << name << "\n got:\n" << actual;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].first, got[i].first) << name << " event " << i;
    EXPECT_EQ(want[i].second, got[i].second)
        << name << " event " << i << "\nwant: " << pretty(want[i].second)
        << "\n got: " << pretty(got[i].second);
  }
}

// One JSON document per line.
inline void expectJsonLinesGolden(const std::string& name, const std::vector<std::string>& lines) {
  if (updateGolden()) {
    std::string text;
    for (const auto& l : lines) text += pretty(boost::json::parse(l)) + "\n";
    writeGolden(name, text);
    return;
  }
  std::istringstream in(readTestdata(name));
  std::vector<boost::json::value> want;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) want.push_back(boost::json::parse(line));
  }
  ASSERT_EQ(want.size(), lines.size()) << name;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i], boost::json::parse(lines[i])) << name << " line " << i;
  }
}

}  // namespace switchyard::api::anthropic::testing
