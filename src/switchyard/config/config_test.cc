#include "switchyard/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace switchyard::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// Raw strings in this file start with a newline for readability; line 1 is the line after it.
std::string yaml(std::string_view text) {
  if (text.starts_with('\n')) text.remove_prefix(1);
  return std::string(text);
}

Config parseOk(std::string_view text) {
  auto config = parseConfig(yaml(text), "test.yaml");
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().message());
  return config ? *config : Config{};
}

Status parseError(std::string_view text) {
  auto config = parseConfig(yaml(text), "test.yaml");
  EXPECT_FALSE(config.has_value()) << "expected an error for:\n" << text;
  return config ? Status() : config.error();
}

// Sets (or unsets, with nullptr) an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

constexpr std::string_view kFull = R"(
server:
  listen: 0.0.0.0:9090
  workers: 4
  max_body_bytes: 8MiB
  max_header_bytes: 32KiB
  max_connections: 500
  header_timeout: 5s
  idle_timeout: 2m
  request_timeout: 1h
  drain_timeout: 1500ms
log:
  level: debug
  format: json
  file: /var/log/switchyard.log
  access_log: false
storage:
  url: postgres://sy@db.internal/switchyard
providers:
  - name: openai
    kind: openai
    base_url: https://api.openai.com/v1/
    api_key: ${SY_TEST_OPENAI_KEY}
    locality: cloud:us
    headers: { X-Org: abc, OpenAI-Project: proj_1 }
    timeouts: { connect: 3s, first_byte: 45s, idle: 30s }
    models:
      - name: gpt-4o-mini
        aliases: [mini, small]
        context_window: 128000
      - gpt-4o
  - name: local
    kind: openai
    base_url: http://127.0.0.1:8081/v1
    locality: on_prem
    models: [qwen2.5-7b-instruct]
routes:
  - name: fast
    target: openai/gpt-4o-mini
  - name: private
    target: local/org/model-with/slashes
)";

TEST(ConfigTest, FullConfigFillsEveryField) {
  ScopedEnv key("SY_TEST_OPENAI_KEY", "sk-test-123");
  const Config c = parseOk(kFull);
  EXPECT_EQ(c.source, "test.yaml");

  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9090);
  EXPECT_EQ(c.server.workers, 4);
  EXPECT_EQ(c.server.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.server.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.server.max_connections, 500);
  EXPECT_EQ(c.server.header_timeout, 5s);
  EXPECT_EQ(c.server.idle_timeout, 2min);
  EXPECT_EQ(c.server.request_timeout, 1h);
  EXPECT_EQ(c.server.drain_timeout, 1500ms);

  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.file, "/var/log/switchyard.log");
  EXPECT_FALSE(c.log.access_log);

  EXPECT_EQ(c.storage_url, "postgres://sy@db.internal/switchyard");

  ASSERT_EQ(c.providers.size(), 2u);
  const ProviderConfig& openai = c.providers[0];
  EXPECT_EQ(openai.name, "openai");
  EXPECT_EQ(openai.kind, "openai");
  EXPECT_EQ(openai.base_url, "https://api.openai.com/v1");  // trailing '/' dropped
  EXPECT_EQ(openai.api_key, "sk-test-123");
  EXPECT_EQ(openai.locality, "cloud:us");
  EXPECT_EQ(openai.headers, (std::map<std::string, std::string>{{"X-Org", "abc"},
                                                                {"OpenAI-Project", "proj_1"}}));
  EXPECT_EQ(openai.timeouts.connect, 3s);
  EXPECT_EQ(openai.timeouts.first_byte, 45s);
  EXPECT_EQ(openai.timeouts.idle, 30s);
  EXPECT_EQ(openai.line, 19);
  ASSERT_EQ(openai.models.size(), 2u);
  EXPECT_EQ(openai.models[0].name, "gpt-4o-mini");
  EXPECT_EQ(openai.models[0].aliases, (std::vector<std::string>{"mini", "small"}));
  EXPECT_EQ(openai.models[0].context_window, 128000);
  EXPECT_EQ(openai.models[1].name, "gpt-4o");
  EXPECT_TRUE(openai.models[1].aliases.empty());
  EXPECT_EQ(openai.models[1].context_window, 0);

  const ProviderConfig& local = c.providers[1];
  EXPECT_EQ(local.name, "local");
  EXPECT_EQ(local.base_url, "http://127.0.0.1:8081/v1");
  EXPECT_EQ(local.api_key, "");
  EXPECT_EQ(local.locality, "on_prem");
  EXPECT_TRUE(local.headers.empty());
  EXPECT_EQ(local.timeouts.connect, 10s);  // defaults where not given
  EXPECT_EQ(local.timeouts.first_byte, 120s);
  EXPECT_EQ(local.line, 31);
  ASSERT_EQ(local.models.size(), 1u);
  EXPECT_EQ(local.models[0].name, "qwen2.5-7b-instruct");

  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].name, "fast");
  EXPECT_EQ(c.routes[0].provider, "openai");
  EXPECT_EQ(c.routes[0].model, "gpt-4o-mini");
  EXPECT_EQ(c.routes[0].line, 37);
  EXPECT_EQ(c.routes[1].provider, "local");
  EXPECT_EQ(c.routes[1].model, "org/model-with/slashes");  // split at the first '/'
  EXPECT_EQ(c.routes[1].line, 39);
}

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  for (std::string_view text : {"", "# nothing but a comment\n", "server:\nlog:\nproviders:\n"}) {
    const Config c = parseOk(text);
    const Config defaults;
    EXPECT_EQ(c.server.host, "127.0.0.1") << text;
    EXPECT_EQ(c.server.port, 8080);
    EXPECT_EQ(c.server.workers, 0);
    EXPECT_EQ(c.server.max_body_bytes, 4u * 1024 * 1024);
    EXPECT_EQ(c.server.max_header_bytes, 16u * 1024);
    EXPECT_EQ(c.server.max_connections, 10'000);
    EXPECT_EQ(c.server.header_timeout, 10s);
    EXPECT_EQ(c.server.idle_timeout, 60s);
    EXPECT_EQ(c.server.request_timeout, 10min);
    EXPECT_EQ(c.server.drain_timeout, 30s);
    EXPECT_EQ(c.server.busy_poll_us, 0);  // off
    EXPECT_EQ(c.log.level, "info");
    EXPECT_EQ(c.log.format, "text");
    EXPECT_EQ(c.log.file, "");
    EXPECT_TRUE(c.log.access_log);
    EXPECT_EQ(c.storage_url, "sqlite://switchyard.db");
    EXPECT_TRUE(c.providers.empty());
    EXPECT_TRUE(c.routes.empty());
  }
}

TEST(ConfigTest, ProviderDefaults) {
  const Config c = parseOk(R"(
providers:
  - name: openai
    kind: openai
)");
  ASSERT_EQ(c.providers.size(), 1u);
  EXPECT_EQ(c.providers[0].base_url, "https://api.openai.com/v1");
  EXPECT_EQ(c.providers[0].locality, "cloud");
  EXPECT_EQ(c.providers[0].api_key, "");
  EXPECT_TRUE(c.providers[0].models.empty());
  EXPECT_EQ(c.providers[0].timeouts.idle, 120s);
}

TEST(ConfigTest, ListenForms) {
  struct Case {
    std::string listen, host;
    int port;
  };
  for (const Case& c : {Case{"127.0.0.1:8080", "127.0.0.1", 8080},
                        Case{"\"[::1]:8080\"", "::1", 8080}, Case{"'[::]:443'", "::", 443},
                        Case{"127.0.0.1:0", "127.0.0.1", 0}, Case{"localhost:3000", "127.0.0.1", 3000},
                        Case{"\":9000\"", "0.0.0.0", 9000}, Case{"0.0.0.0:65535", "0.0.0.0", 65535}}) {
    const Config config = parseOk("server:\n  listen: " + c.listen + "\n");
    EXPECT_EQ(config.server.host, c.host) << c.listen;
    EXPECT_EQ(config.server.port, c.port) << c.listen;
  }
}

TEST(ConfigTest, BadListenAddresses) {
  struct Case {
    std::string listen, message;
  };
  for (const Case& c : {
           Case{"127.0.0.1:70000", "port 70000 is out of range (0-65535)"},
           Case{"127.0.0.1", "expected HOST:PORT"},
           Case{"127.0.0.1:http", "expected HOST:PORT"},
           Case{"example.com:80", "host 'example.com' is not an IP address"},
           Case{"::1:8080", "IPv6 addresses need brackets"},
           Case{"\"[zz::1]:80\"", "'zz::1' is not an IPv6 address"},
           Case{"8080", "expected HOST:PORT"},
       }) {
    const Status s = parseError("server:\n  workers: 2\n  listen: " + c.listen + "\n");
    EXPECT_THAT(s.message(), HasSubstr("test.yaml:3: server.listen: " + c.message)) << c.listen;
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.param(), "server.listen");
  }
}

TEST(ConfigTest, Sizes) {
  struct Case {
    std::string text;
    std::size_t bytes;
  };
  for (const Case& c : {Case{"4MiB", 4u << 20}, Case{"16KiB", 16u << 10}, Case{"1GiB", 1u << 30},
                        Case{"1KB", 1000}, Case{"2MB", 2'000'000}, Case{"3 MiB", 3u << 20},
                        Case{"64kib", 64u << 10}, Case{"512B", 512}, Case{"1048576", 1048576}}) {
    const Config config = parseOk("server:\n  max_body_bytes: " + c.text + "\n");
    EXPECT_EQ(config.server.max_body_bytes, c.bytes) << c.text;
  }
}

TEST(ConfigTest, BadSizes) {
  struct Case {
    std::string text, message;
  };
  for (const Case& c : {Case{"4XB", "expected a size like 4MiB"},
                        Case{"1.5MiB", "expected a size like 4MiB"},
                        Case{"lots", "expected a size like 4MiB, 512KiB, 10MB or a number of "
                                     "bytes, got 'lots'"},
                        Case{"0", "must be greater than 0"}, Case{"-1", "must be greater than 0"},
                        Case{"99999999999999999999", "size is too large"},
                        Case{"99999999999GiB", "size is too large"}}) {
    const Status s = parseError("server:\n  max_header_bytes: " + c.text + "\n");
    EXPECT_THAT(s.message(), HasSubstr("test.yaml:2: server.max_header_bytes: " + c.message))
        << c.text;
  }
}

TEST(ConfigTest, Durations) {
  struct Case {
    std::string text;
    Millis value;
  };
  for (const Case& c : {Case{"250ms", 250ms}, Case{"10s", 10s}, Case{"5m", 5min}, Case{"1h", 1h},
                        Case{"1h30m", 90min}, Case{"2m30s", 150s}, Case{"1500", 1500ms},
                        Case{"10_000", 10s}}) {
    const Config config = parseOk("server:\n  idle_timeout: " + c.text + "\n");
    EXPECT_EQ(config.server.idle_timeout, c.value) << c.text;
  }
  // Shutdown may skip draining; other timeouts must be positive.
  EXPECT_EQ(parseOk("server:\n  drain_timeout: 0s\n").server.drain_timeout, 0ms);
}

TEST(ConfigTest, BadDurations) {
  struct Case {
    std::string text, message;
  };
  for (const Case& c : {Case{"10 sec", "expected a duration like 250ms, 10s, 5m, 1h or a number "
                                       "of ms, got '10 sec'"},
                        Case{"5d", "expected a duration"}, Case{"1.5s", "expected a duration"},
                        Case{"s", "expected a duration"}, Case{"-1s", "must not be negative"},
                        Case{"0s", "must be greater than 0"}, Case{"0", "must be greater than 0"},
                        Case{"9999999999999999h", "duration is too large"}}) {
    const Status s = parseError("server:\n  header_timeout: " + c.text + "\n");
    EXPECT_THAT(s.message(), HasSubstr("test.yaml:2: server.header_timeout: " + c.message))
        << c.text;
  }
  const Status s = parseError(R"(
providers:
  - name: p
    kind: openai
    timeouts:
      connect: 1s
      idle: forever
)");
  EXPECT_THAT(s.message(),
              HasSubstr("test.yaml:6: providers[0].timeouts.idle: expected a duration"));
}

TEST(ConfigTest, BusyPollIsMicrosecondsUpToTenMilliseconds) {
  EXPECT_EQ(parseOk("server:\n  busy_poll_us: 0\n").server.busy_poll_us, 0);
  EXPECT_EQ(parseOk("server:\n  busy_poll_us: 10000\n").server.busy_poll_us, 10'000);
  for (const std::string text : {"-1", "10001", "50us", "fast"}) {
    const Status s = parseError("server:\n  busy_poll_us: " + text + "\n");
    EXPECT_THAT(s.message(), HasSubstr("test.yaml:2: server.busy_poll_us: ")) << text;
  }
}

// Outbound proxies: server keys, else the environment (lower case first), validated with the
// file, line and key (or the variable) at fault.
TEST(ConfigTest, ProxiesFromKeysOrTheEnvironment) {
  for (const char* name :
       {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"}) {
    ::unsetenv(name);
  }
  EXPECT_TRUE(parseOk("providers: []\n").server.proxy.empty());

  Config c = parseOk(
      "server:\n  https_proxy: http://u:p@proxy.corp:3128\n  no_proxy: .corp, 10.0.0.0/8\n");
  ASSERT_TRUE(c.server.proxy.https.has_value());
  EXPECT_EQ(c.server.proxy.https->display, "http://proxy.corp:3128");
  EXPECT_FALSE(c.server.proxy.http.has_value());
  EXPECT_EQ(c.server.proxy.no_proxy, (std::vector<std::string>{".corp", "10.0.0.0/8"}));

  ::setenv("HTTPS_PROXY", "http://upper:8080", 1);
  ::setenv("https_proxy", "http://lower:8080", 1);
  ::setenv("HTTP_PROXY", "proxy.lan:3128", 1);
  c = parseOk("providers: []\n");  // no server section: the environment still applies
  EXPECT_EQ(c.server.proxy.https->host, "lower");
  EXPECT_EQ(c.server.proxy.http->host, "proxy.lan");
  // A key wins over the environment; an empty one turns the proxy off.
  c = parseOk("server:\n  https_proxy: \"\"\n");
  EXPECT_FALSE(c.server.proxy.https.has_value());
  EXPECT_TRUE(c.server.proxy.http.has_value());

  EXPECT_EQ(parseError("server:\n  listen: 127.0.0.1:1\n  http_proxy: socks5://p:1080\n").message(),
            "test.yaml:3: server.http_proxy: proxy scheme 'socks5' is not supported (an http:// "
            "proxy, which tunnels https:// upstreams with CONNECT, is)");
  ::setenv("https_proxy", "http://p:1/path", 1);
  EXPECT_EQ(parseError("providers: []\n").message(),
            "test.yaml: https_proxy (environment): a proxy URL has no path, query or fragment "
            "(got 'http://p:1/path')");
  for (const char* name : {"https_proxy", "HTTPS_PROXY", "HTTP_PROXY"}) ::unsetenv(name);
}

TEST(ConfigTest, CorsOrigins) {
  const auto defaults = parseOk("").server.cors_origins;
  EXPECT_EQ(defaults.front(), "http://localhost:*");  // pages on this machine, any port
  EXPECT_EQ(defaults.size(), 6u);
  EXPECT_EQ(parseOk("server:\n  cors_origins: []\n").server.cors_origins.size(), 0u);
  EXPECT_EQ(parseOk("server:\n  cors_origins: '*'\n").server.cors_origins,
            std::vector<std::string>{"*"});
  EXPECT_EQ(parseOk("server:\n  cors_origins: [https://app.example.com, "
                    "'http://[::1]:*', tauri://localhost]\n")
                .server.cors_origins.size(),
            3u);
  for (std::string bad :
       {"app.example.com", "https://app.example.com/path", "https://*.example.com", "https://",
        "://x", "http://a b", "https://a.com,https://b.com"}) {
    const Status s =
        parseError("server:\n  cors_origins:\n    - http://localhost:*\n    - '" + bad + "'\n");
    EXPECT_THAT(s.message(), HasSubstr("test.yaml:4: server.cors_origins")) << bad;
    EXPECT_THAT(s.message(), HasSubstr("is not an origin")) << bad;
  }
  EXPECT_THAT(parseError("server:\n  cors_origins: {a: 1}\n").message(),
              HasSubstr("test.yaml:2: server.cors_origins"));
}

TEST(ConfigTest, Limits) {
  EXPECT_THAT(parseError("server:\n  workers: -1\n").message(),
              HasSubstr("test.yaml:2: server.workers: must not be negative, got -1"));
  EXPECT_THAT(parseError("server:\n  max_connections: 0\n").message(),
              HasSubstr("test.yaml:2: server.max_connections: must be greater than 0, got 0"));
  EXPECT_THAT(parseError("server:\n  max_connections: many\n").message(),
              HasSubstr("test.yaml:2: server.max_connections: expected an integer, got 'many'"));
  EXPECT_THAT(parseError("server:\n  max_connections: 3000000000\n").message(),
              HasSubstr("must be between 1 and 2147483647"));
  EXPECT_THAT(parseError("log:\n  access_log: maybe\n").message(),
              HasSubstr("test.yaml:2: log.access_log: expected true or false, got 'maybe'"));
  EXPECT_THAT(parseError(R"(
providers:
  - name: p
    kind: openai
    models:
      - name: m
        context_window: -5
)").message(),
              HasSubstr("test.yaml:6: providers[0].models[0].context_window: must not be "
                        "negative"));
}

TEST(ConfigTest, EnvExpansion) {
  ScopedEnv set("SY_TEST_SET", "from-env");
  ScopedEnv empty("SY_TEST_EMPTY", "");
  ScopedEnv unset("SY_TEST_UNSET", nullptr);
  ScopedEnv port("SY_TEST_PORT", "7070");
  const Config c = parseOk(R"(
server:
  listen: 127.0.0.1:${SY_TEST_PORT}
log:
  file: /logs/${SY_TEST_SET}/${SY_TEST_UNSET:-fallback}.log
providers:
  - name: p
    kind: openai
    api_key: ${SY_TEST_EMPTY:-default-key}
    headers:
      X-Price: "$$5 and ${SY_TEST_UNSET:-} and $HOME and a $"
      X-Empty: ${SY_TEST_EMPTY}
)");
  EXPECT_EQ(c.server.port, 7070);  // expansion applies to typed values too
  EXPECT_EQ(c.log.file, "/logs/from-env/fallback.log");
  ASSERT_EQ(c.providers.size(), 1u);
  EXPECT_EQ(c.providers[0].api_key, "default-key");  // ':-' also covers set-but-empty
  EXPECT_EQ(c.providers[0].headers.at("X-Price"), "$5 and  and $HOME and a $");
  EXPECT_EQ(c.providers[0].headers.at("X-Empty"), "");
}

TEST(ConfigTest, MissingEnvVarNamesLineKeyAndVariable) {
  ScopedEnv unset("SY_TEST_MISSING", nullptr);
  const Status s = parseError(R"(
providers:
  - name: openai
    kind: openai
    api_key: ${SY_TEST_MISSING}
)");
  EXPECT_EQ(s.message(),
            "test.yaml:4: providers[0].api_key: environment variable 'SY_TEST_MISSING' is not "
            "set (write ${SY_TEST_MISSING:-default} to give it a default)");
  EXPECT_EQ(s.param(), "providers[0].api_key");
}

TEST(ConfigTest, MalformedEnvReferences) {
  EXPECT_THAT(parseError("log:\n  file: ${UNCLOSED\n").message(),
              HasSubstr("test.yaml:2: log.file: unterminated '${'"));
  EXPECT_THAT(parseError("log:\n  file: ${1BAD}\n").message(),
              HasSubstr("test.yaml:2: log.file: invalid environment variable name '1BAD'"));
  EXPECT_THAT(parseError("log:\n  file: ${}\n").message(),
              HasSubstr("invalid environment variable name ''"));
}

TEST(ConfigTest, SecretsNeverAppearInErrors) {
  ScopedEnv key("SY_TEST_SECRET", "sk-very-secret-value");
  // An api_key that conflicts with a header, and a header value that is rejected.
  Status s = parseError(R"(
providers:
  - name: openai
    kind: openai
    api_key: ${SY_TEST_SECRET}
    headers:
      Authorization: Bearer ${SY_TEST_SECRET}
)");
  EXPECT_THAT(s.message(), HasSubstr("test.yaml:6: providers[0].headers.Authorization: an "
                                     "Authorization header conflicts with api_key"));
  EXPECT_THAT(s.message(), Not(HasSubstr("sk-very-secret")));

  ScopedEnv crlf("SY_TEST_CRLF", "sk-very-secret-value\r\nX-Injected: 1");
  s = parseError(R"(
providers:
  - name: openai
    kind: openai
    headers:
      X-Key: ${SY_TEST_CRLF}
)");
  EXPECT_THAT(s.message(),
              HasSubstr("test.yaml:5: providers[0].headers.X-Key: header value contains a line "
                        "break or NUL"));
  EXPECT_THAT(s.message(), Not(HasSubstr("sk-very-secret")));

  // Credentials in URLs stay out of messages too.
  ScopedEnv url("SY_TEST_URL", "ftp://user:sk-very-secret-value@host/");
  s = parseError(R"(
storage:
  url: mysql://root:sk-very-secret-value@db/sy
providers:
  - name: openai
    kind: openai
    base_url: ${SY_TEST_URL}
)");
  EXPECT_EQ(s.message(),
            "test.yaml:2: storage.url: unsupported storage scheme 'mysql' (expected sqlite:// "
            "or postgres://)");
  s = parseError("providers:\n  - name: openai\n    kind: openai\n    base_url: ${SY_TEST_URL}\n");
  EXPECT_EQ(s.message(),
            "test.yaml:4: providers[0].base_url: must start with http:// or https://, got "
            "scheme 'ftp'");
}

TEST(ConfigTest, UnknownKeysAreErrorsAtEveryLevel) {
  Status s = parseError("server:\n  lisen: 127.0.0.1:8080\n");
  EXPECT_EQ(s.message(), "test.yaml:2: unknown key 'lisen' in server (did you mean 'listen'?)");
  EXPECT_EQ(s.param(), "server.lisen");

  EXPECT_EQ(parseError("sever:\n  listen: 127.0.0.1:8080\n").message(),
            "test.yaml:1: unknown key 'sever' at top level (did you mean 'server'?)");
  EXPECT_EQ(parseError("log:\n  level: info\n  acess_log: true\n").message(),
            "test.yaml:3: unknown key 'acess_log' in log (did you mean 'access_log'?)");
  // Transpositions and truncations count as typos.
  EXPECT_THAT(parseError("server:\n  max_body: 1MiB\n").message(),
              HasSubstr("unknown key 'max_body' in server (did you mean 'max_body_bytes'?)"));
  // No plausible guess: list the valid keys instead.
  EXPECT_EQ(parseError("storage:\n  database: x\n").message(),
            "test.yaml:2: unknown key 'database' in storage (valid keys: url)");

  s = parseError(R"(
providers:
  - name: p
    kind: openai
    timeouts:
      conect: 1s
)");
  EXPECT_EQ(s.message(),
            "test.yaml:5: unknown key 'conect' in providers[0].timeouts (did you mean "
            "'connect'?)");
  s = parseError(R"(
providers:
  - name: p
    kind: openai
    modles: []
)");
  EXPECT_EQ(s.message(),
            "test.yaml:4: unknown key 'modles' in providers[0] (did you mean 'models'?)");
  s = parseError(R"(
providers:
  - name: p
    kind: openai
    models:
      - name: m
        alias: [x]
routes:
  - name: r
    target: p/m
)");
  EXPECT_EQ(s.message(),
            "test.yaml:6: unknown key 'alias' in providers[0].models[0] (did you mean "
            "'aliases'?)");
  s = parseError("routes:\n  - name: r\n    taget: p/m\n");
  EXPECT_EQ(s.message(), "test.yaml:3: unknown key 'taget' in routes[0] (did you mean 'target'?)");
}

TEST(ConfigTest, DuplicateKeys) {
  EXPECT_EQ(parseError("server:\n  workers: 1\n  workers: 2\n").message(),
            "test.yaml:3: server.workers: duplicate key (first on line 2)");
}

TEST(ConfigTest, ProviderErrors) {
  // The list of kinds grows with each provider; check the start and one known kind.
  const std::string unknown_kind = parseError(R"(
providers:
  - name: openai
    kind: opnai
)").message();
  EXPECT_THAT(unknown_kind, ::testing::StartsWith("test.yaml:3: providers[0].kind: unknown "
                                                  "provider kind 'opnai' (expected one of: "
                                                  "openai"));
  EXPECT_THAT(unknown_kind, HasSubstr("anthropic"));
  EXPECT_EQ(parseError(R"(
providers:
  - name: a
    kind: openai
  - kind: openai
)").message(),
            "test.yaml:4: providers[1]: missing required key 'name'");
  EXPECT_EQ(parseError("providers:\n  - name: a\n").message(),
            "test.yaml:2: providers[0]: missing required key 'kind'");
  EXPECT_EQ(parseError(R"(
providers:
  - name: openai
    kind: openai
  - name: local
    kind: openai
  - name: openai
    kind: openai
)").message(),
            "test.yaml:6: providers[2].name: duplicate provider name 'openai' (first declared on "
            "line 2)");
  EXPECT_THAT(parseError("providers:\n  - name: Open AI\n    kind: openai\n").message(),
              HasSubstr("test.yaml:2: providers[0].name: invalid provider name 'Open AI'"));
  EXPECT_EQ(parseError("providers:\n  - name: p\n    kind: openai\n    base_url: https:///v1\n")
                .message(),
            "test.yaml:4: providers[0].base_url: URL has no host");
  EXPECT_EQ(parseError("providers:\n  - name: p\n    kind: openai\n    base_url: localhost:1\n")
                .message(),
            "test.yaml:4: providers[0].base_url: must start with http:// or https://");
  EXPECT_EQ(parseError("providers:\n  - name: p\n    kind: openai\n    locality: onprem\n")
                .message(),
            "test.yaml:4: providers[0].locality: invalid locality 'onprem' (expected on_prem, "
            "cloud or cloud:<region>)");
  EXPECT_THAT(parseError("providers:\n  - name: p\n    kind: openai\n    locality: 'cloud:'\n")
                  .message(),
              HasSubstr("invalid locality 'cloud:'"));
  EXPECT_EQ(parseError(R"(
providers:
  - name: p
    kind: openai
    headers:
      Host: example.com
)").message(),
            "test.yaml:5: providers[0].headers.Host: header 'Host' is set by the gateway and "
            "cannot be configured");
  EXPECT_EQ(parseError(R"(
providers:
  - name: p
    kind: openai
    headers:
      X-A: 1
      x-a: 2
)").message(),
            "test.yaml:6: providers[0].headers.x-a: header 'x-a' is set twice (names ignore "
            "case)");
  EXPECT_EQ(parseError(R"(
providers:
  - name: p
    kind: openai
    models:
      - m1
      - name: m1
)").message(),
            "test.yaml:6: providers[0].models[1]: duplicate model 'm1' (first declared on line "
            "5)");
  EXPECT_EQ(parseError("providers:\n  name: p\n  kind: openai\n").message(),
            "test.yaml:2: providers: expected a list, got a mapping");
}

TEST(ConfigTest, RouteErrors) {
  constexpr std::string_view kProviders = R"(
providers:
  - name: openai
    kind: openai
    models:
      - name: gpt-4o-mini
        aliases: [mini]
  - name: local
    kind: openai
    base_url: http://127.0.0.1:8081/v1
    models: [llama]
)";
  auto withRoutes = [&](std::string_view routes) {
    return std::string(kProviders) + std::string(routes);
  };
  // kProviders fills lines 1-10, so `routes:` is line 11 and the first route starts on line 12.
  EXPECT_EQ(parseError(withRoutes("routes:\n  - name: fast\n    target: opnai/gpt-4o\n")).message(),
            "test.yaml:13: routes[0].target: unknown provider 'opnai' (did you mean 'openai'?)");
  EXPECT_EQ(parseError(withRoutes("routes:\n  - name: fast\n    target: nobody/x\n")).message(),
            "test.yaml:13: routes[0].target: unknown provider 'nobody' (providers: openai, local)");
  EXPECT_EQ(parseError(withRoutes("routes:\n  - name: fast\n    target: gpt-4o\n")).message(),
            "test.yaml:13: routes[0].target: expected PROVIDER/MODEL (e.g. openai/gpt-4o-mini), "
            "got 'gpt-4o'");
  EXPECT_EQ(parseError(withRoutes("routes:\n  - name: fast\n    target: openai/\n")).message(),
            "test.yaml:13: routes[0].target: expected PROVIDER/MODEL (e.g. openai/gpt-4o-mini), "
            "got 'openai/'");
  EXPECT_EQ(parseError(withRoutes(R"(routes:
  - name: fast
    target: openai/gpt-4o-mini
  - name: fast
    target: local/llama
)")).message(),
            "test.yaml:14: routes[1].name: duplicate route name 'fast' (first declared on line 12)");
  EXPECT_EQ(parseError(withRoutes("routes:\n  - name: mini\n    target: local/llama\n")).message(),
            "test.yaml:12: routes[0].name: route name 'mini' is already the alias of "
            "openai/gpt-4o-mini (line 6)");
  EXPECT_THAT(
      parseError(withRoutes("routes:\n  - name: local/x\n    target: local/llama\n")).message(),
      HasSubstr("test.yaml:12: routes[0].name: route name 'local/x' would shadow the explicit "
                "provider/model name of provider 'local'"));
  EXPECT_EQ(parseError(withRoutes("routes:\n  - target: local/llama\n")).message(),
            "test.yaml:12: routes[0]: missing required key 'name'");
  EXPECT_EQ(parseError("routes:\n  - name: r\n    target: openai/gpt-4o\n").message(),
            "test.yaml:3: routes[0].target: unknown provider 'openai' (no providers are "
            "configured)");
  // A route may shadow a plain model name: that is how a model is pinned to one provider.
  const Config c = parseOk(withRoutes("routes:\n  - name: llama\n    target: openai/gpt-4o\n"));
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].provider, "openai");
}

TEST(ConfigTest, AliasCollisions) {
  EXPECT_EQ(parseError(R"(
providers:
  - name: a
    kind: openai
    models:
      - name: m1
        aliases: [shared]
  - name: b
    kind: openai
    models:
      - name: m2
        aliases: [other, shared]
)").message(),
            "test.yaml:11: providers[1].models[0].aliases[1]: alias 'shared' is already the alias "
            "of a/m1 (line 6)");
  EXPECT_EQ(parseError(R"(
providers:
  - name: a
    kind: openai
    models:
      - name: m1
        aliases: [m2]
  - name: b
    kind: openai
    models: [m2]
)").message(),
            "test.yaml:6: providers[0].models[0].aliases[0]: alias 'm2' is also the name of model "
            "b/m2 (line 9)");
  EXPECT_THAT(parseError(R"(
providers:
  - name: a
    kind: openai
    models:
      - name: m1
        aliases: [a/other]
)").message(),
              HasSubstr("test.yaml:6: providers[0].models[0].aliases[0]: alias 'a/other' would "
                        "shadow"));
}

TEST(ConfigTest, OtherErrorsNameLineAndKey) {
  EXPECT_EQ(parseError("log:\n  level: verbose\n").message(),
            "test.yaml:2: log.level: unknown log level 'verbose' (expected one of: trace, debug, "
            "info, warn, error, critical, off)");
  EXPECT_EQ(parseError("log:\n  format: xml\n").message(),
            "test.yaml:2: log.format: unknown log format 'xml' (expected one of: text, json)");
  EXPECT_EQ(parseError("storage:\n  url: sqlite://\n").message(),
            "test.yaml:2: storage.url: sqlite:// needs a file path, e.g. sqlite://switchyard.db");
  EXPECT_EQ(parseError("storage:\n  url: switchyard.db\n").message(),
            "test.yaml:2: storage.url: expected a URL: sqlite://PATH or postgres://...");
  EXPECT_EQ(parseError("server: 8080\n").message(),
            "test.yaml:1: server: expected a mapping (key: value lines), got a scalar");
  EXPECT_EQ(parseError("log:\n  file: [a, b]\n").message(),
            "test.yaml:2: log.file: expected a string, got a list");
  EXPECT_EQ(parseError("- a\n- b\n").message(),
            "test.yaml:1: expected a mapping with server, log, storage, providers, routes");
  EXPECT_EQ(parseConfig("storage:\n  url: sqlite:///var/lib/sy.db\n", "x")->storage_url,
            "sqlite:///var/lib/sy.db");
}

TEST(ConfigTest, YamlSyntaxErrorsHaveLines) {
  const Status s = parseError(R"(
server:
  listen: 127.0.0.1:8080
  workers: [1, 2
log:
  level: info
)");
  EXPECT_THAT(s.message(), testing::StartsWith("test.yaml:"));
  EXPECT_THAT(s.message(), HasSubstr("YAML syntax error"));
  // The unclosed flow sequence is reported where yaml-cpp gives up; it must be a real line.
  EXPECT_THAT(s.message(), testing::MatchesRegex("test\\.yaml:[3-5]: YAML syntax error: .*"));

  EXPECT_EQ(parseError("server:\n  listen: 1\n bad: 2\n").message(),
            "test.yaml:3: YAML syntax error: end of map not found (column 2)");
}

std::filesystem::path writeTemp(const std::string& name, std::string_view text) {
  const std::filesystem::path path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, LoadConfigFile) {
  const auto path = writeTemp("sy_config_ok.yaml", "server:\n  listen: 127.0.0.1:0\n");
  auto config = loadConfigFile(path.string());
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->source, path.string());
  EXPECT_EQ(config->server.port, 0);

  // Errors name the file as given.
  const auto bad = writeTemp("sy_config_bad.yaml", "server:\n  workers: -3\n");
  auto failed = loadConfigFile(bad.string());
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message(), bad.string() + ":2: server.workers: must not be negative, got -3");
}

TEST(ConfigTest, LoadConfigFileErrors) {
  const std::string missing = ::testing::TempDir() + "/sy_no_such_config.yaml";
  auto config = loadConfigFile(missing);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(config.error().message(),
            "cannot read config file '" + missing + "': No such file or directory");

  config = loadConfigFile(::testing::TempDir());
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message(), HasSubstr("it is a directory"));
}

// examples/switchyard.yaml is what new users start from: it must load with no env var set.
TEST(ConfigTest, ShippedExampleLoadsWithoutEnvironment) {
  ScopedEnv key("OPENAI_API_KEY", nullptr);
  const std::filesystem::path root = SY_SOURCE_DIR;
  const std::filesystem::path example = root / "examples" / "switchyard.yaml";
  ASSERT_TRUE(std::filesystem::exists(example)) << example;
  auto config = loadConfigFile(example.string());
  ASSERT_TRUE(config.has_value()) << config.error().message();
  ASSERT_GE(config->providers.size(), 2u);
  EXPECT_EQ(config->providers[0].kind, "openai");
  EXPECT_EQ(config->providers[0].api_key, "");
  bool has_on_prem = false;
  for (const auto& p : config->providers) has_on_prem |= p.locality == "on_prem";
  EXPECT_TRUE(has_on_prem);
  EXPECT_GE(config->routes.size(), 2u);
}


TEST(ConfigTest, OpenAIRerankModels) {
  const Config c = parseOk(R"(
providers:
  - name: infinity
    kind: openai
    base_url: http://rerank.internal:7997/v1
    models:
      - name: bge-reranker-v2-m3
        rerank: true
      - chat-model
)");
  ASSERT_EQ(c.providers[0].models.size(), 2u);
  EXPECT_TRUE(c.providers[0].models[0].rerank);
  EXPECT_FALSE(c.providers[0].models[1].rerank);
  EXPECT_EQ(parseError(R"(providers:
  - name: claude
    kind: anthropic
    api_key: k
    models:
      - name: claude-x
        rerank: true
)")
                .message(),
            "test.yaml:7: providers[0].models[0].rerank: only for models of kind 'openai' "
            "providers (an OpenAI-compatible server with /rerank); a local reranker GGUF is "
            "marked 'embeddings: true'");
  EXPECT_EQ(parseError(R"(providers:
  - name: infinity
    kind: openai
    base_url: http://rerank.internal:7997/v1
    models:
      - name: bge
        rerank: maybe
)")
                .message()
                .rfind("test.yaml:7: providers[0].models[0].rerank:", 0),
            0u);
}

// A local provider with one model, ready for more of the model's keys.
const std::string kLocalTinyModel = R"(providers:
  - name: local
    kind: local
    models:
      - name: tiny
        path: /models/tiny.gguf
)";

TEST(ConfigTest, LocalModelSharePrefixes) {
  const std::string& head = kLocalTinyModel;
  EXPECT_TRUE(parseOk(head).providers[0].models[0].local.share_prefixes);
  EXPECT_TRUE(parseOk(head).providers[0].models[0].local.park_idle);
  EXPECT_FALSE(parseOk(head + "        park_idle: false\n").providers[0].models[0].local.park_idle);
  EXPECT_FALSE(parseOk(head + "        share_prefixes: false\n")
                   .providers[0]
                   .models[0]
                   .local.share_prefixes);
  EXPECT_THAT(parseError(head + "        share_prefixes: sometimes\n").message(),
              HasSubstr("test.yaml:7: providers[0].models[0].share_prefixes: expected"));
  EXPECT_THAT(parseError(R"(providers:
  - name: o
    kind: openai
    models:
      - name: m
        share_prefixes: true
)")
                  .message(),
              HasSubstr("share_prefixes"));
}

TEST(ConfigTest, LocalModelGpuLayers) {
  const std::string& head = kLocalTinyModel;
  auto layers = [&](const std::string& value) {
    return parseOk(head + "        gpu_layers: " + value + "\n")
        .providers[0]
        .models[0]
        .local.gpu_layers;
  };
  EXPECT_EQ(parseOk(head).providers[0].models[0].local.gpu_layers,
            LocalModelConfig::kGpuLayersAuto);
  EXPECT_EQ(layers("auto"), LocalModelConfig::kGpuLayersAuto);
  EXPECT_EQ(layers("all"), LocalModelConfig::kGpuLayersAll);
  EXPECT_EQ(layers("-1"), LocalModelConfig::kGpuLayersAll);
  EXPECT_EQ(layers("0"), 0);
  EXPECT_EQ(layers("20"), 20);
  for (const char* bad : {"-2", "most", "1.5", "100001"}) {
    EXPECT_THAT(parseError(head + "        gpu_layers: " + bad + "\n").message(),
                HasSubstr("test.yaml:7: providers[0].models[0].gpu_layers: expected auto, all or "
                          "a number of layers"))
        << bad;
  }
}

TEST(ConfigTest, LocalModelLoraAdapters) {
  const Config c = parseOk(R"(
providers:
  - name: local
    kind: local
    models:
      - name: tiny
        path: /models/tiny.gguf
        lora:
          - name: style
            path: /models/style.gguf
          - name: pirate
            path: /models/pirate.gguf
            scale: 0
)");
  const auto& lora = c.providers[0].models[0].local.lora;
  ASSERT_EQ(lora.size(), 2u);
  EXPECT_EQ(lora[0].name, "style");
  EXPECT_EQ(lora[0].path, "/models/style.gguf");
  EXPECT_EQ(lora[0].scale, 1.0f);
  EXPECT_EQ(lora[1].scale, 0.0f);

  const std::string head = kLocalTinyModel + "        lora:\n";
  EXPECT_EQ(parseError(head + "          - name: a\n            path: /a.gguf\n            scale: x\n")
                .message(),
            "test.yaml:10: providers[0].models[0].lora[0].scale: expected a number between -100 "
            "and 100, got 'x'");
  EXPECT_EQ(parseError(head + "          - name: a\n").message(),
            "test.yaml:8: providers[0].models[0].lora[0]: missing required key 'path'");
  EXPECT_EQ(parseError(head + "          - name: a\n            path: /a.gguf\n"
                              "          - name: a\n            path: /b.gguf\n")
                .message(),
            "test.yaml:10: providers[0].models[0].lora[1].name: LoRA 'a' is declared twice");
  EXPECT_THAT(parseError(head + "          - name: a\n            path: /a.gguf\n"
                                "            rank: 8\n")
                  .message(),
              HasSubstr("unknown key 'rank'"));
  EXPECT_THAT(parseError(R"(providers:
  - name: o
    kind: openai
    models:
      - name: m
        lora: []
)")
                  .message(),
              HasSubstr("only for models of kind 'local'"));
}

TEST(ConfigTest, AnthropicKindDefaultsItsBaseUrl) {
  const Config c = parseOk(R"(
providers:
  - name: claude
    kind: anthropic
    api_key: sk-ant-test
    models: [claude-sonnet-4-5]
  - name: proxy
    kind: anthropic
    base_url: http://127.0.0.1:9000/
)");
  ASSERT_EQ(c.providers.size(), 2u);
  EXPECT_EQ(c.providers[0].kind, "anthropic");
  EXPECT_EQ(c.providers[0].base_url, "https://api.anthropic.com");
  EXPECT_EQ(c.providers[1].base_url, "http://127.0.0.1:9000");
}

}  // namespace
}  // namespace switchyard::config

namespace switchyard::config {
namespace {

TEST(ConfigTest, AzureNeedsAnApiVersionAndOnlyAzureTakesOne) {
  const Config ok = parseOk(R"(
providers:
  - name: az
    kind: azure
    base_url: https://myres.openai.azure.com
    api_key: k
    api_version: 2024-10-21
    models: [gpt-4o-prod]
)");
  ASSERT_EQ(ok.providers.size(), 1u);
  EXPECT_EQ(ok.providers[0].api_version, "2024-10-21");

  EXPECT_EQ(parseError(R"(
providers:
  - name: az
    kind: azure
    base_url: https://myres.openai.azure.com
)")
                .message(),
            "test.yaml:2: providers[0]: kind 'azure' needs 'api_version' (e.g. 2024-10-21)");
  EXPECT_EQ(parseError(R"(
providers:
  - name: oa
    kind: openai
    api_version: 2024-10-21
)")
                .message(),
            "test.yaml:4: providers[0].api_version: only for kind 'azure' (Azure OpenAI), not "
            "'openai'");
}

TEST(ConfigTest, PricesAndTelemetry) {
  const Config c = parseOk(R"(
providers:
  - name: oai
    kind: openai
    models: [gpt-4o]
  - name: gpu
    kind: local
    models:
      - name: tiny
        path: /models/tiny.gguf
routes:
  - name: support
    target: oai/gpt-4o
prices:
  - provider: oai
    model: gpt-4o
    input: 2.0
    output: 8
    cached_input: 0.5
  - kind: anthropic
    model: claude-sonnet-4-5
    input: 3
    output: 15
    cache_write: 3.75
  - provider: gpu
    hourly_usd: 1.20
    tokens_per_second: 45.5
telemetry:
  request_log:
    max_age: 7d
    max_rows: 500_000
    batch_size: 64
    flush_interval: 250ms
    queue_capacity: 1000
    payload_routes: [support]
    max_payload_bytes: 16KiB
  metrics:
    token: s3cret
  feedback: false
)");
  ASSERT_EQ(c.prices.size(), 3u);
  EXPECT_EQ(c.prices[0].provider, "oai");
  EXPECT_EQ(c.prices[0].model, "gpt-4o");
  EXPECT_DOUBLE_EQ(c.prices[0].input, 2.0);
  EXPECT_DOUBLE_EQ(c.prices[0].output, 8.0);
  EXPECT_DOUBLE_EQ(c.prices[0].cached_input, 0.5);
  EXPECT_LT(c.prices[0].cache_write, 0);  // unset: the input rate
  EXPECT_LT(c.prices[0].hourly_usd, 0);
  EXPECT_EQ(c.prices[0].line, 14);
  EXPECT_EQ(c.prices[1].kind, "anthropic");
  EXPECT_DOUBLE_EQ(c.prices[1].cache_write, 3.75);
  EXPECT_DOUBLE_EQ(c.prices[2].hourly_usd, 1.2);
  EXPECT_DOUBLE_EQ(c.prices[2].tokens_per_second, 45.5);
  EXPECT_TRUE(c.prices[2].model.empty());
  const RequestLogConfig& rl = c.telemetry.request_log;
  EXPECT_TRUE(rl.enabled);
  EXPECT_EQ(rl.max_age, 7 * 24h);
  EXPECT_EQ(rl.max_rows, 500'000);
  EXPECT_EQ(rl.batch_size, 64);
  EXPECT_EQ(rl.flush_interval, 250ms);
  EXPECT_EQ(rl.queue_capacity, 1000);
  EXPECT_EQ(rl.payload_routes, std::vector<std::string>{"support"});
  EXPECT_EQ(rl.max_payload_bytes, 16u * 1024);
  EXPECT_EQ(c.telemetry.metrics.token, "s3cret");
  EXPECT_TRUE(c.telemetry.metrics.enabled);
  EXPECT_FALSE(c.telemetry.feedback);

  // Defaults: a config file logs requests (30 days, 1M rows); a Config built in code does not.
  const Config d = parseOk("server:\n  workers: 1\n");
  EXPECT_TRUE(d.telemetry.request_log.enabled);
  EXPECT_EQ(d.telemetry.request_log.max_age, 30 * 24h);
  EXPECT_EQ(d.telemetry.request_log.max_rows, 1'000'000);
  EXPECT_TRUE(d.prices.empty());
  EXPECT_FALSE(Config{}.telemetry.request_log.enabled);
  EXPECT_FALSE(parseOk("telemetry:\n  request_log:\n    enabled: false\n")
                   .telemetry.request_log.enabled);
  EXPECT_EQ(parseOk("telemetry:\n  request_log:\n    max_age: 36h\n").telemetry.request_log.max_age,
            36h);
}

TEST(ConfigTest, DashboardSection) {
  const Config d = parseOk("server:\n  workers: 1\n");
  EXPECT_TRUE(d.telemetry.dashboard.enabled);
  EXPECT_EQ(d.telemetry.dashboard.session_ttl, 12h);
  EXPECT_FALSE(Config{}.telemetry.dashboard.enabled);
  const Config c =
      parseOk("telemetry:\n  dashboard:\n    enabled: false\n    session_ttl: 30m\n");
  EXPECT_FALSE(c.telemetry.dashboard.enabled);
  EXPECT_EQ(c.telemetry.dashboard.session_ttl, 30min);
  EXPECT_EQ(parseError("telemetry:\n  dashboard:\n    session_ttl: 10s\n").message(),
            "test.yaml:3: telemetry.dashboard.session_ttl: must be between 1m and 720h");
  EXPECT_EQ(parseError("telemetry:\n  dashboard:\n    theme: dark\n").message(),
            "test.yaml:3: unknown key 'theme' in telemetry.dashboard (valid keys: enabled, "
            "session_ttl)");
  EXPECT_THAT(parseError("telemetry:\n  dashboard:\n    enabled: sometimes\n").message(),
              ::testing::HasSubstr("test.yaml:3: telemetry.dashboard.enabled:"));
}

TEST(ConfigTest, StoredResponses) {
  // Config files store responses (as OpenAI does) unless told not to; code-built configs do not.
  EXPECT_FALSE(Config{}.responses.enabled);
  const Config defaults = parseOk("providers: []\n");
  EXPECT_TRUE(defaults.responses.enabled);
  EXPECT_TRUE(defaults.responses.store_by_default);
  EXPECT_EQ(defaults.responses.max_age, std::chrono::hours(30 * 24));
  const Config c =
      parseOk("responses:\n  enabled: true\n  store_by_default: false\n  max_age: 7d\n");
  EXPECT_TRUE(c.responses.enabled);
  EXPECT_FALSE(c.responses.store_by_default);
  EXPECT_EQ(c.responses.max_age, std::chrono::hours(7 * 24));
  EXPECT_EQ(parseOk("responses:\n  max_age: 0\n").responses.max_age.count(), 0);
  EXPECT_EQ(parseOk("responses:\n  max_age: 90m\n").responses.max_age, std::chrono::minutes(90));
  EXPECT_FALSE(parseOk("responses: {enabled: false}\n").responses.enabled);
  EXPECT_EQ(parseError("responses:\n  store: true\n").message(),
            "test.yaml:2: unknown key 'store' in responses (did you mean 'store_by_default'?)");
  const std::string bad_age = parseError("responses:\n  max_age: forever\n").message();
  EXPECT_TRUE(bad_age.starts_with("test.yaml:2: responses.max_age: ")) << bad_age;
  EXPECT_TRUE(bad_age.ends_with("(or days, e.g. 30d)")) << bad_age;
  EXPECT_EQ(parseError("responses:\n  enabled: maybe\n").message(),
            "test.yaml:2: responses.enabled: expected true or false, got 'maybe'");
}

TEST(ConfigTest, ResponseCache) {
  const Config defaults = parseOk("providers: []\n");
  EXPECT_FALSE(defaults.cache.enabled);  // off unless asked for, in files and in code
  EXPECT_EQ(defaults.cache.ttl, std::chrono::hours(1));
  EXPECT_EQ(defaults.cache.max_bytes, 256u << 20);
  EXPECT_EQ(defaults.cache.scope, "key");
  const Config c =
      parseOk("cache:\n  enabled: true\n  ttl: 10m\n  max_bytes: 64MiB\n  scope: team\n");
  EXPECT_TRUE(c.cache.enabled);
  EXPECT_EQ(c.cache.ttl, std::chrono::minutes(10));
  EXPECT_EQ(c.cache.max_bytes, 64u << 20);
  EXPECT_EQ(c.cache.scope, "team");
  EXPECT_EQ(parseError("cache:\n  scope: everyone\n").message(),
            "test.yaml:2: cache.scope: unknown cache scope 'everyone' (expected one of: key, "
            "team, global)");
  EXPECT_EQ(parseError("cache:\n  ttl: 0\n").message(),
            "test.yaml:2: cache.ttl: must be greater than 0");
  EXPECT_THAT(parseError("cache:\n  max_bytes: lots\n").message(),
              ::testing::HasSubstr("test.yaml:2: cache.max_bytes: expected a size like 4MiB"));
  // Per route: off, or its own lifetime.
  const std::string providers = "providers:\n  - {name: up, kind: openai, models: [m]}\n";
  const Config routes = parseOk(providers +
                                "routes:\n  - {name: a, target: up/m, cache: false}\n"
                                "  - {name: b, target: up/m, cache: 10m}\n"
                                "  - {name: c, target: up/m}\n");
  EXPECT_FALSE(routes.routes[0].cache);
  EXPECT_TRUE(routes.routes[1].cache);
  EXPECT_EQ(routes.routes[1].cache_ttl, std::chrono::minutes(10));
  EXPECT_TRUE(routes.routes[2].cache);
  EXPECT_EQ(routes.routes[2].cache_ttl.count(), 0);
  EXPECT_EQ(parseError(providers + "routes:\n  - {name: a, target: up/m, cache: often}\n")
                .message(),
            "test.yaml:4: routes[0].cache: expected true, false or how long answers are kept "
            "(e.g. 10m), got 'often'");
  EXPECT_EQ(parseError("cache:\n  size: 1GiB\n").message(),
            "test.yaml:2: unknown key 'size' in cache (valid keys: enabled, ttl, max_bytes, "
            "scope, redis, redis_timeout)");
  // A second tier in Redis, shared by gateways; the URL's password never shows in an error.
  EXPECT_TRUE(defaults.cache.redis.url.empty());
  EXPECT_EQ(defaults.cache.redis_timeout, std::chrono::milliseconds(250));
  const Config shared = parseOk(
      "cache:\n  enabled: true\n  redis: redis://:pw@cache.internal:6380/3\n"
      "  redis_timeout: 50ms\n");
  EXPECT_EQ(shared.cache.redis.host, "cache.internal");
  EXPECT_EQ(shared.cache.redis.port, 6380);
  EXPECT_EQ(shared.cache.redis.db, 3);
  EXPECT_EQ(shared.cache.redis.password, "pw");
  EXPECT_EQ(shared.cache.redis.line, 3);
  EXPECT_EQ(shared.cache.redis.display(), "redis://cache.internal:6380/3");
  EXPECT_EQ(shared.cache.redis_timeout, std::chrono::milliseconds(50));
  const std::string bad = parseError("cache:\n  redis: http://:pw@cache.internal\n").message();
  EXPECT_EQ(bad, "test.yaml:2: cache.redis: expected a URL redis://[:password@]host[:port][/db]");
  EXPECT_EQ(parseError("cache:\n  redis_timeout: 0s\n").message(),
            "test.yaml:2: cache.redis_timeout: must be greater than 0");
}

TEST(ConfigTest, PriceAndTelemetryErrorsNameLineAndKey) {
  const std::string providers = R"(
providers:
  - name: oai
    kind: openai
  - name: gpu
    kind: local
    models: [{name: t, path: /m.gguf}]
)";
  EXPECT_EQ(parseError(providers + "prices:\n  - provider: nope\n    model: x\n    input: 1\n")
                .message(),
            "test.yaml:8: prices[0].provider: unknown provider 'nope'");
  EXPECT_EQ(parseError(providers + "prices:\n  - kind: opnai\n    model: x\n    input: 1\n")
                .message(),
            "test.yaml:8: prices[0].kind: unknown provider kind 'opnai' (expected one of: "
            "openai, anthropic, gemini, local, azure)");
  EXPECT_EQ(parseError(providers + "prices:\n  - model: x\n    input: 1\n").message(),
            "test.yaml:8: prices[0]: a price names exactly one of 'provider' (a provider name) "
            "or 'kind' (every provider of that kind)");
  EXPECT_EQ(parseError(providers + "prices:\n  - provider: oai\n    model: x\n    input: -1\n")
                .message(),
            "test.yaml:10: prices[0].input: must be between 0 and 1e+06, got -1");
  EXPECT_EQ(parseError(providers + "prices:\n  - provider: oai\n    model: x\n    output: lots\n")
                .message(),
            "test.yaml:10: prices[0].output: expected a number, got 'lots'");
  EXPECT_EQ(parseError(providers + "prices:\n  - provider: oai\n    input: 1\n").message(),
            "test.yaml:8: prices[0]: missing required key 'model'");
  EXPECT_EQ(parseError(providers + "prices:\n  - provider: oai\n    hourly_usd: 2\n").message(),
            "test.yaml:9: prices[0].hourly_usd: hardware prices are for providers of kind "
            "'local'");
  EXPECT_EQ(
      parseError(providers + "prices:\n  - provider: gpu\n    hourly_usd: 2\n    input: 1\n")
          .message(),
      "test.yaml:8: prices[0]: a price is either per token (input, output, ...) or hardware "
      "(hourly_usd, tokens_per_second), not both");
  EXPECT_EQ(parseError(providers +
                       "prices:\n  - provider: oai\n    model: x\n    input: 1\n"
                       "  - provider: oai\n    model: x\n    input: 2\n")
                .message(),
            "test.yaml:11: prices[1]: duplicate price (first declared on line 8)");
  EXPECT_EQ(parseError(providers + "prices:\n  - provider: oai\n    model: x\n    inptu: 1\n")
                .message(),
            "test.yaml:10: unknown key 'inptu' in prices[0] (did you mean 'input'?)");
  EXPECT_EQ(parseError("telemetry:\n  request_log:\n    payload_routes: [nope]\n").message(),
            "test.yaml:3: telemetry.request_log.payload_routes[0]: unknown route 'nope'");
  EXPECT_EQ(parseError("telemetry:\n  request_log:\n    max_age: soon\n").message(),
            "test.yaml:3: telemetry.request_log.max_age: expected a duration like 250ms, 10s, "
            "5m, 1h or a number of ms, got 'soon' (or days, e.g. 30d)");
  EXPECT_EQ(parseError("telemetry:\n  request_log:\n    batch_size: 0\n").message(),
            "test.yaml:3: telemetry.request_log.batch_size: must be greater than 0, got 0");
  EXPECT_EQ(parseError("telemetry:\n  metrics:\n    enabled: maybe\n").message(),
            "test.yaml:3: telemetry.metrics.enabled: expected true or false, got 'maybe'");
  EXPECT_EQ(parseError("telemetry:\n  tracing: {}\n").message(),
            "test.yaml:2: unknown key 'tracing' in telemetry (valid keys: request_log, metrics, "
            "feedback, traces, dashboard)");
}

TEST(ConfigTest, TracesSection) {
  ScopedEnv token("SY_TEST_OTLP_TOKEN", "tok-123");
  const Config config = parseOk(R"(
telemetry:
  traces:
    endpoint: http://otel-collector:4318
    sample_ratio: 0.25
    service_name: gateway-eu
    resource: {deployment.environment: prod, service.namespace: llm}
    headers: {Authorization: "Bearer ${SY_TEST_OTLP_TOKEN}"}
    batch_size: 100
    flush_interval: 500ms
    queue_capacity: 1000
    timeout: 3s
    max_retries: 5
    capture_content: true
    max_content_bytes: 4KiB
)");
  const TracesConfig& t = config.telemetry.traces;
  EXPECT_TRUE(t.capture_content);
  EXPECT_EQ(t.max_content_bytes, 4096u);
  EXPECT_EQ(t.endpoint, "http://otel-collector:4318");
  EXPECT_DOUBLE_EQ(t.sample_ratio, 0.25);
  EXPECT_EQ(t.service_name, "gateway-eu");
  EXPECT_EQ(t.resource.at("deployment.environment"), "prod");
  EXPECT_EQ(t.resource.at("service.namespace"), "llm");
  EXPECT_EQ(t.headers.at("Authorization"), "Bearer tok-123");
  EXPECT_EQ(t.batch_size, 100);
  EXPECT_EQ(t.flush_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(t.queue_capacity, 1000);
  EXPECT_EQ(t.timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(t.max_retries, 5);

  // Off unless an endpoint is configured.
  const Config defaults = parseOk("telemetry:\n  feedback: true\n");
  EXPECT_TRUE(defaults.telemetry.traces.endpoint.empty());
  EXPECT_DOUBLE_EQ(defaults.telemetry.traces.sample_ratio, 1.0);
  EXPECT_FALSE(defaults.telemetry.traces.capture_content);  // prompts stay out unless asked
  EXPECT_EQ(defaults.telemetry.traces.max_content_bytes, 16u * 1024);
}

TEST(ConfigTest, TracesErrorsNameLineAndKey) {
  EXPECT_EQ(parseError("telemetry:\n  traces:\n    endpoint: otel:4318\n").message(),
            "test.yaml:3: telemetry.traces.endpoint: expected an http:// or https:// URL of an "
            "OTLP/HTTP collector");
  EXPECT_EQ(parseError("telemetry:\n  traces:\n    sample_ratio: 2\n").message(),
            "test.yaml:3: telemetry.traces.sample_ratio: must be between 0 and 1, got 2");
  EXPECT_EQ(parseError("telemetry:\n  traces:\n    batch_size: 0\n").message(),
            "test.yaml:3: telemetry.traces.batch_size: must be greater than 0, got 0");
  EXPECT_EQ(parseError("telemetry:\n  traces:\n    sample_rate: 1\n").message(),
            "test.yaml:3: unknown key 'sample_rate' in telemetry.traces (did you mean "
            "'sample_ratio'?)");
  // Header values are credentials: never echoed.
  const std::string bad_header =
      parseError("telemetry:\n  traces:\n    headers: {\"bad name\": secret-value}\n")
          .message();
  EXPECT_EQ(bad_header,
            "test.yaml:3: telemetry.traces.headers: invalid header name 'bad name'");
  const std::string nested =
      parseError("telemetry:\n  traces:\n    headers: {x-token: [secret-value]}\n").message();
  EXPECT_EQ(nested.find("secret-value"), std::string::npos) << nested;
  EXPECT_EQ(parseError("telemetry:\n  traces:\n    capture_content: sometimes\n")
                .message()
                .rfind("test.yaml:3: telemetry.traces.capture_content:", 0),
            0u);
  EXPECT_EQ(parseError("telemetry:\n  traces:\n    max_content_bytes: 0\n").message(),
            "test.yaml:3: telemetry.traces.max_content_bytes: must be greater than 0");
  EXPECT_EQ(parseError("telemetry:\n  traces:\n    service_name: \"\"\n").message(),
            "test.yaml:3: telemetry.traces.service_name: must not be empty");
}

}  // namespace
}  // namespace switchyard::config

// ---- governance: admin_key, auth, limits, guard ---------------------------------------------

namespace switchyard::config {
namespace {

TEST(GovernanceConfigTest, FullSectionsLoad) {
  ScopedEnv admin("SY_TEST_ADMIN", "s3cret-admin");
  Config c = parseOk(R"(
admin_key: ${SY_TEST_ADMIN}
auth:
  require_keys: true
  reload_interval: 2s
limits:
  teams:
    ml: {rpm: 100, tpm: 50_000, budget_usd: 12.5, budget_period: day}
guard:
  policy: {pii: redact, secret: block, CREDIT_CARD: local_only, EMPLOYEE_ID: mask}
  scan_output: true
  entities: [EMAIL, CREDIT_CARD, AWS_ACCESS_KEY]
  entropy_threshold: 3.2
  generic_min_length: 20
  detectors:
    - name: EMPLOYEE_ID
      regex: '\bE-[0-9]{6}\b'
      category: pii
    - name: PROJECT
      terms: [Bluebird, Nightjar]
  allow:
    values: [support@example.com]
    patterns: ['.*@example\.org']
  routes:
    private: {default: allow}
  keys:
    ci: {EMAIL: allow}
  teams:
    legal: {default: block}
)");
  EXPECT_EQ(c.admin_key, "s3cret-admin");
  EXPECT_TRUE(c.auth.require_keys);
  EXPECT_EQ(c.auth.reload_interval, 2000ms);
  ASSERT_EQ(c.limits.teams.count("ml"), 1u);
  EXPECT_EQ(c.limits.teams["ml"].tpm, 50'000);
  EXPECT_EQ(c.limits.teams["ml"].budget_usd, 12.5);
  EXPECT_EQ(c.limits.teams["ml"].budget_period, "day");
  EXPECT_TRUE(c.guard.enabled);
  EXPECT_TRUE(c.guard.scan_output);
  EXPECT_EQ(c.guard.policy.at("secret"), "block");
  EXPECT_EQ(c.guard.policy.at("EMPLOYEE_ID"), "mask");
  EXPECT_EQ(c.guard.entities.size(), 3u);
  EXPECT_EQ(c.guard.entropy_threshold, 3.2);
  EXPECT_EQ(c.guard.generic_min_length, 20u);
  ASSERT_EQ(c.guard.detectors.size(), 2u);
  EXPECT_EQ(c.guard.detectors[0].category, "pii");
  EXPECT_EQ(c.guard.detectors[1].terms.size(), 2u);
  EXPECT_EQ(c.guard.allow_values, std::vector<std::string>{"support@example.com"});
  EXPECT_EQ(c.guard.routes.at("private").at("default"), "allow");
  EXPECT_EQ(c.guard.keys.at("ci").at("EMAIL"), "allow");
  EXPECT_EQ(c.guard.teams.at("legal").at("default"), "block");
}

TEST(GovernanceConfigTest, DefaultsAreOff) {
  Config c = parseOk("providers: []\n");
  EXPECT_FALSE(c.guard.enabled);
  EXPECT_FALSE(c.auth.require_keys);
  EXPECT_TRUE(c.admin_key.empty());
  auto embedded = embeddedDefaultConfig();
  ASSERT_TRUE(embedded);
  EXPECT_FALSE(embedded->auth.require_keys);  // `make serve` works without keys
  // `switchyard ingest` then "rag": NAME works on `make serve` (lexical retrieval).
  EXPECT_TRUE(embedded->rag.enabled);
  EXPECT_TRUE(embedded->rag.embedding_model.empty());
  EXPECT_FALSE(c.rag.enabled);
}

// `switchyard serve --model FILE...`: the embedded defaults with the user's own GGUF files.
TEST(ConfigTest, ModelFilesConfig) {
  ModelFilesOptions options;
  options.paths = {"/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf", "/m/it's $HOME/My Model.GGUF",
                   "phi3"};
  options.context = 8192;
  options.parallel = 2;
  options.embeddings = true;
  auto c = modelFilesConfig(options);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->providers.size(), 1u);
  const auto& models = c->providers[0].models;
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[0].name, "Qwen2.5-7B-Instruct-Q4_K_M");
  EXPECT_EQ(models[0].aliases, std::vector<std::string>{"default"});
  EXPECT_TRUE(models[0].local.preload);
  EXPECT_EQ(models[0].local.context, 8192);
  EXPECT_EQ(models[0].local.parallel, 2);
  EXPECT_TRUE(models[0].local.embeddings);
  EXPECT_EQ(models[1].name, "My-Model");  // spaces become dashes; any case of .gguf goes
  EXPECT_EQ(models[1].local.path, "/m/it's $HOME/My Model.GGUF");  // quoted, not expanded
  EXPECT_TRUE(models[1].aliases.empty());
  EXPECT_FALSE(models[1].local.preload);
  EXPECT_EQ(models[2].name, "phi3");
  // The rest is the embedded defaults.
  EXPECT_EQ(c->server.port, 8080);
  EXPECT_TRUE(c->rag.enabled);

  options.paths = {"/a/tiny.gguf", "/b/tiny.gguf"};
  auto clash = modelFilesConfig(options);
  ASSERT_FALSE(clash);
  EXPECT_THAT(clash.error().message(),
              HasSubstr("/a/tiny.gguf and /b/tiny.gguf would both be served as 'tiny'"));
  EXPECT_FALSE(modelFilesConfig({}));

  options.paths = {"/a/qwen.gguf", "/b/default.gguf"};  // the file named default is the default
  auto named_default = modelFilesConfig(options);
  ASSERT_TRUE(named_default) << named_default.error().message();
  EXPECT_TRUE(named_default->providers[0].models[0].aliases.empty());
  EXPECT_EQ(named_default->providers[0].models[1].name, "default");
}

TEST(GovernanceConfigTest, ErrorsNameFileLineAndKey) {
  EXPECT_THAT(parseError("guard:\n  policy: {EMAIL: redcat}\n").message(),
              HasSubstr("test.yaml:2: guard.policy.EMAIL: unknown action 'redcat' (expected one "
                        "of: allow, redact, mask, local_only, block)"));
  EXPECT_THAT(parseError("guard:\n  policy:\n    EMIAL: redact\n").message(),
              HasSubstr("test.yaml:3: guard.policy.EMIAL: unknown entity type 'EMIAL' (did you "
                        "mean 'EMAIL'?)"));
  EXPECT_THAT(parseError("guard:\n  detectors:\n    - name: X\n      regex: 'a(b'\n").message(),
              HasSubstr("test.yaml:4: guard.detectors[0].regex: invalid regex (RE2 syntax)"));
  EXPECT_THAT(parseError("guard:\n  detectors:\n    - name: x\n      regex: a\n").message(),
              HasSubstr("guard.detectors[0].name: detector name 'x' must be upper case"));
  EXPECT_THAT(parseError("guard:\n  detectors:\n    - {name: X, regex: a, terms: [b]}\n")
                  .message(),
              HasSubstr("exactly one of 'regex' or 'terms'"));
  EXPECT_THAT(
      parseError("guard:\n  detectors:\n    - {name: X, regex: a, validator: crc}\n").message(),
      HasSubstr("unknown validator 'crc'"));
  EXPECT_THAT(parseError("guard:\n  entities: [EMAIL, PASSPORT]\n").message(),
              HasSubstr("test.yaml:2: guard.entities[1]: unknown entity type 'PASSPORT'"));
  EXPECT_THAT(parseError("guard:\n  scan_ouput: true\n").message(),
              HasSubstr("unknown key 'scan_ouput' in guard (did you mean 'scan_output'?)"));
  EXPECT_THAT(parseError("guard:\n  routes:\n    private: {FOO: block}\n").message(),
              HasSubstr("guard.routes.private.FOO: unknown entity type 'FOO'"));
  EXPECT_THAT(parseError("auth:\n  require_keys: maybe\n").message(),
              HasSubstr("test.yaml:2: auth.require_keys: expected true or false"));
  EXPECT_THAT(parseError("limits:\n  teams:\n    ml: {budget_period: week}\n").message(),
              HasSubstr("limits.teams.ml.budget_period: unknown budget period 'week'"));
  EXPECT_THAT(parseError("limits:\n  teams:\n    ml: {budget_usd: -3}\n").message(),
              HasSubstr("limits.teams.ml.budget_usd: expected an amount in USD"));
  EXPECT_THAT(parseError("limits:\n  teams:\n    ml: {rpm: -1}\n").message(),
              HasSubstr("limits.teams.ml.rpm: must not be negative"));
}

TEST(GovernanceConfigTest, SharedLimitsRedisUrl) {
  EXPECT_TRUE(parseOk("limits: {}\n").limits.redis.url.empty());
  Config c = parseOk("limits:\n  redis: redis://127.0.0.1\n");
  EXPECT_EQ(c.limits.redis.host, "127.0.0.1");
  EXPECT_EQ(c.limits.redis.port, 6379);
  EXPECT_EQ(c.limits.redis.db, 0);
  EXPECT_EQ(c.limits.redis.sync_interval, std::chrono::milliseconds(100));
  EXPECT_EQ(c.limits.redis.line, 2);

  c = parseOk(
      "limits:\n  redis: redis://ops:s%40cret@cache.internal:6380/2\n"
      "  sync_interval: 250ms\n");
  EXPECT_EQ(c.limits.redis.host, "cache.internal");
  EXPECT_EQ(c.limits.redis.port, 6380);
  EXPECT_EQ(c.limits.redis.db, 2);
  EXPECT_EQ(c.limits.redis.username, "ops");
  EXPECT_EQ(c.limits.redis.password, "s@cret");  // percent-decoded
  EXPECT_EQ(c.limits.redis.sync_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c.limits.redis.display(), "redis://cache.internal:6380/2");  // no credentials
  EXPECT_EQ(parseOk("limits: {redis: \"redis://:pw@[::1]\"}\n").limits.redis.display(),
            "redis://[::1]:6379/0");

  // Errors name the line and key, never the URL (it may hold a password).
  Status s = parseError("limits:\n  redis: rediss://:hunter2@cache:6380\n");
  EXPECT_THAT(s.message(), HasSubstr("test.yaml:2: limits.redis: rediss:// (TLS) is not"));
  EXPECT_THAT(s.message(), Not(HasSubstr("hunter2")));
  s = parseError("limits:\n  redis: redis://:hunter2@cache:99999\n");
  EXPECT_THAT(s.message(), HasSubstr("limits.redis: the port must be a number from 1 to 65535"));
  EXPECT_THAT(s.message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(parseError("limits:\n  redis: redis://cache/zero\n").message(),
              HasSubstr("limits.redis: the path must be a database number"));
  EXPECT_THAT(parseError("limits:\n  redis: cache:6379\n").message(),
              HasSubstr("limits.redis: expected a URL redis://"));
  EXPECT_THAT(parseError("limits:\n  sync_interval: 0s\n").message(),
              HasSubstr("limits.sync_interval: must be greater than 0"));
}

TEST(GovernanceConfigTest, AdminKeyErrorsNeverEchoTheValue) {
  ScopedEnv unset("SY_TEST_NO_SUCH_ADMIN", nullptr);
  Status s = parseError("admin_key: ${SY_TEST_NO_SUCH_ADMIN}\n");
  EXPECT_THAT(s.message(), HasSubstr("admin_key: environment variable 'SY_TEST_NO_SUCH_ADMIN' "
                                     "is not set"));
}

TEST(ConfigTest, RagSection) {
  EXPECT_FALSE(parseOk("").rag.enabled);
  EXPECT_TRUE(parseOk("rag:\n").rag.enabled);
  const Config c = parseOk(R"(
rag:
  path: /var/lib/switchyard/rag
  embedding_model: local/embedder
  chunk_tokens: 300
  chunk_overlap: 40
  top_k: 6
  mode: vector
  hnsw_m: 24
  hnsw_ef_construction: 100
  hnsw_ef_search: 80
  workers: 3
  routes:
    support: {collection: handbook, top_k: 3}
    legal: {collection: contracts}
)");
  const RagConfig& r = c.rag;
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.path, "/var/lib/switchyard/rag");
  EXPECT_EQ(r.embedding_model, "local/embedder");
  EXPECT_EQ(r.embedding_model_line, 3);
  EXPECT_EQ(r.chunk_tokens, 300);
  EXPECT_EQ(r.chunk_overlap, 40);
  EXPECT_EQ(r.top_k, 6);
  EXPECT_EQ(r.mode, "vector");
  EXPECT_EQ(r.hnsw_m, 24);
  EXPECT_EQ(r.hnsw_ef_construction, 100);
  EXPECT_EQ(r.hnsw_ef_search, 80);
  EXPECT_EQ(r.workers, 3);
  ASSERT_EQ(r.routes.size(), 2u);
  EXPECT_EQ(r.routes.at("support").collection, "handbook");
  EXPECT_EQ(r.routes.at("support").top_k, 3);
  EXPECT_EQ(r.routes.at("legal").top_k, 6);  // the section's top_k
}

TEST(ConfigTest, RagErrorsNameLineAndKey) {
  EXPECT_EQ(parseError("rag:\n  mode: fuzzy\n").message(),
            "test.yaml:2: rag.mode: unknown retrieval mode 'fuzzy' (expected one of: lexical, "
            "vector, hybrid)");
  EXPECT_EQ(parseError("rag:\n  mode: hybrid\n").message(),
            "test.yaml:2: rag.mode: mode 'hybrid' needs an embedding_model (or use mode: lexical)");
  EXPECT_EQ(parseError("rag:\n  chunk_tokens: 64\n  chunk_overlap: 64\n").message(),
            "test.yaml:3: rag.chunk_overlap: must be smaller than chunk_tokens (64)");
  EXPECT_EQ(parseError("rag:\n  top_k: 0\n").message(),
            "test.yaml:2: rag.top_k: must be greater than 0, got 0");
  EXPECT_THAT(parseError("rag:\n  embeding_model: x\n").message(),
              HasSubstr("test.yaml:2: unknown key 'embeding_model' in rag (did you mean "
                        "'embedding_model'?)"));
  EXPECT_EQ(parseError("rag:\n  routes:\n    support: {top_k: 2}\n").message(),
            "test.yaml:3: rag.routes.support: missing required key 'collection'");
  EXPECT_EQ(parseError("rag:\n  routes:\n    support: handbook\n").message(),
            "test.yaml:3: rag.routes.support: expected a mapping with collection and top_k, got "
            "a scalar");
  EXPECT_THAT(parseError("rag:\n  routes:\n    s: {collection: h, k: 2}\n").message(),
              HasSubstr("unknown key 'k' in rag.routes.s"));
}

TEST(ConfigTest, TaskClassifierInlineExamples) {
  const Config c = parseOk(R"(
routing:
  classifier:
    embedding_model: embedder
    k: 3
    min_similarity: 0.4
    timeout: 100ms
    examples:
      legal: ["review this indemnity clause", "is this NDA enforceable?"]
      code: ["fix the segfault in my parser"]
)");
  const TaskClassifierConfig& t = c.routing.classifier;
  EXPECT_EQ(t.embedding_model, "embedder");
  EXPECT_EQ(t.embedding_model_line, 3);
  EXPECT_EQ(t.k, 3);
  EXPECT_DOUBLE_EQ(t.min_similarity, 0.4);
  EXPECT_EQ(t.timeout, 100ms);
  ASSERT_EQ(t.examples.size(), 3u);
  EXPECT_EQ(t.examples[1].task, "legal");
  EXPECT_EQ(t.examples[1].text, "is this NDA enforceable?");
  EXPECT_EQ(t.examples[2].task, "code");
  // Off by default.
  EXPECT_TRUE(parseOk("routing: {}\n").routing.classifier.embedding_model.empty());
}

TEST(ConfigTest, TaskClassifierExamplesFileIsRelativeToTheConfig) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sy_cfg_examples_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "tasks.jsonl") << R"({"task": "legal", "text": "draft a \"force majeure\" clause"})"
                                       << "\n\n"
                                       << R"({"task":"math","text":"integrate x squared"})" << "\n";
    std::ofstream(dir / "ok.yaml") << "routing:\n  classifier:\n    embedding_model: e\n"
                                      "    examples_file: tasks.jsonl\n";
    std::ofstream(dir / "bad.yaml") << "routing:\n  classifier:\n    embedding_model: e\n"
                                       "    examples_file: broken.jsonl\n";
    std::ofstream(dir / "broken.jsonl") << R"({"task": "legal", "text": "fine"})" << "\n"
                                        << R"({"label": "legal"})" << "\n";
  }
  auto ok = loadConfigFile((dir / "ok.yaml").string());
  ASSERT_TRUE(ok) << ok.error().message();
  ASSERT_EQ(ok->routing.classifier.examples.size(), 2u);
  EXPECT_EQ(ok->routing.classifier.examples[0].text, "draft a \"force majeure\" clause");
  EXPECT_EQ(ok->routing.classifier.examples[1].task, "math");

  auto bad = loadConfigFile((dir / "bad.yaml").string());
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("bad.yaml:4: routing.classifier.examples_file"));
  EXPECT_THAT(bad.error().message(), HasSubstr("broken.jsonl:2: expected {\"task\""));
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, TaskClassifierErrors) {
  EXPECT_THAT(parseError(R"(
routing:
  classifier:
    examples: {legal: [x]}
)").message(), HasSubstr("test.yaml:3: routing.classifier: missing required key 'embedding_model'"));
  EXPECT_THAT(parseError(R"(
routing:
  classifier:
    embedding_model: e
)").message(), HasSubstr("needs labelled examples"));
  EXPECT_THAT(parseError(R"(
routing:
  classifier:
    embedding_model: e
    examples: {"two words": [x]}
)").message(), HasSubstr("no spaces"));
  EXPECT_THAT(parseError(R"(
routing:
  classifier:
    embedding_model: e
    k: 0
    examples: {legal: [x]}
)").message(), HasSubstr("test.yaml:4: routing.classifier.k"));
  EXPECT_THAT(parseError(R"(
routing:
  classifier:
    embedding_model: e
    examples: {legal: []}
)").message(), HasSubstr("at least one example"));
  EXPECT_THAT(parseError(R"(
routing:
  classifier:
    embedding_model: e
    examples_file: /nonexistent/tasks.jsonl
)").message(), HasSubstr("cannot read '/nonexistent/tasks.jsonl'"));
}


TEST(ConfigTest, RagRerankPerRouteAndCollection) {
  const Config c = parseOk(R"(
rag:
  routes:
    support:
      collection: handbook
      rerank: {model: local/reranker, top_n: 12}
    plain: {collection: handbook}
  collections:
    handbook:
      rerank:
        model: reranker
    notes: {}
)");
  const RagConfig& r = c.rag;
  EXPECT_EQ(r.routes.at("support").rerank.model, "local/reranker");
  EXPECT_EQ(r.routes.at("support").rerank.top_n, 12);
  EXPECT_EQ(r.routes.at("support").rerank.model_line, 5);
  EXPECT_EQ(r.routes.at("plain").rerank.model, "");
  ASSERT_EQ(r.collections.size(), 2u);
  EXPECT_EQ(r.collections.at("handbook").rerank.model, "reranker");
  EXPECT_EQ(r.collections.at("handbook").rerank.top_n, 20);  // default
  EXPECT_EQ(r.collections.at("handbook").rerank.model_line, 10);
  EXPECT_EQ(r.collections.at("notes").rerank.model, "");

  EXPECT_EQ(parseError("rag:\n  collections:\n    h: {rerank: {top_n: 3}}\n").message(),
            "test.yaml:3: rag.collections.h.rerank: missing required key 'model'");
  EXPECT_EQ(parseError("rag:\n  collections:\n    h: {rerank: {model: m, top_n: 0}}\n")
                .message(),
            "test.yaml:3: rag.collections.h.rerank.top_n: must be greater than 0, got 0");
  EXPECT_THAT(parseError("rag:\n  collections:\n    h: {rerank: {model: m, n: 3}}\n").message(),
              HasSubstr("unknown key 'n' in rag.collections.h.rerank"));
  EXPECT_THAT(parseError("rag:\n  collections:\n    h: {top_k: 3}\n").message(),
              HasSubstr("unknown key 'top_k' in rag.collections.h"));
  EXPECT_EQ(parseError("rag:\n  collections:\n    h: x\n").message(),
            "test.yaml:3: rag.collections.h: expected a mapping with rerank, got a scalar");
  EXPECT_EQ(parseError("rag:\n  routes:\n    s: {collection: h, rerank: {model: ''}}\n")
                .message(),
            "test.yaml:3: rag.routes.s.rerank.model: must name a reranker model");
}

}  // namespace
}  // namespace switchyard::config
