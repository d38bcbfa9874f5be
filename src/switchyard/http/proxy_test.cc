#include "switchyard/http/proxy.h"

#include <gtest/gtest.h>

#include "switchyard/http/client.h"

namespace switchyard::http {
namespace {

Origin origin(std::string_view url) {
  auto o = Origin::parse(url);
  EXPECT_TRUE(o.has_value()) << url;
  return o.value_or(Origin{});
}

TEST(ProxySettingsTest, ParsesProxyUrlsAsCurlDoes) {
  auto s = ProxySettings::parse("http://alice:p%40ss@Proxy.Corp:3128/", "proxy.corp", "");
  ASSERT_TRUE(s.has_value()) << s.error().toString();
  ASSERT_TRUE(s->https.has_value());
  EXPECT_EQ(s->https->host, "proxy.corp");
  EXPECT_EQ(s->https->port, 3128);
  EXPECT_EQ(s->https->authorization, "Basic YWxpY2U6cEBzcw==");  // alice:p@ss
  EXPECT_EQ(s->https->display, "http://proxy.corp:3128");        // never the password
  ASSERT_TRUE(s->http.has_value());
  EXPECT_EQ(s->http->port, 1080);  // no scheme: http; no port: curl's 1080
  EXPECT_TRUE(s->http->authorization.empty());

  auto v6 = ProxySettings::parse("http://[::1]:8080", "", "");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->https->host, "::1");
  EXPECT_EQ(v6->https->display, "http://[::1]:8080");
  EXPECT_FALSE(v6->http.has_value());

  auto none = ProxySettings::parse(" ", "", "");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(ProxySettingsTest, BadProxyUrlsNameTheSetting) {
  auto socks = ProxySettings::parse("socks5://proxy:1080", "", "");
  ASSERT_FALSE(socks.has_value());
  EXPECT_EQ(socks.error().message().rfind("HTTPS_PROXY: proxy scheme 'socks5'", 0), 0u)
      << socks.error().message();
  auto path = ProxySettings::parse("", "http://proxy:3128/path", "", "a", "server.http_proxy");
  ASSERT_FALSE(path.has_value());
  EXPECT_EQ(path.error().message().rfind("server.http_proxy: ", 0), 0u) << path.error().message();
  EXPECT_FALSE(ProxySettings::parse("http://proxy:0", "", "").has_value());
  EXPECT_FALSE(ProxySettings::parse("http://:3128", "", "").has_value());
}

TEST(ProxySettingsTest, NoProxyAndLoopbackGoDirect) {
  auto s = ProxySettings::parse("http://proxy:3128", "http://proxy:3129",
                                "Example.com, .corp,internal:8443, 10.0.0.0/8,[fd00::1],");
  ASSERT_TRUE(s.has_value()) << s.error().toString();
  const auto via = [&](std::string_view url) -> int {
    const ProxySettings::Proxy* p = s->forOrigin(origin(url));
    return p == nullptr ? 0 : p->port;
  };
  EXPECT_EQ(via("https://api.openai.com/v1"), 3128);
  EXPECT_EQ(via("http://vllm.lan:8000/v1"), 3129);
  EXPECT_EQ(via("https://example.com"), 0);
  EXPECT_EQ(via("https://API.example.com"), 0);  // subdomains too, any case
  EXPECT_EQ(via("https://notexample.com"), 3128);
  EXPECT_EQ(via("https://llm.corp"), 0);
  EXPECT_EQ(via("https://internal"), 0);  // the port in an entry is not matched
  EXPECT_EQ(via("http://10.1.2.3:8000"), 0);
  EXPECT_EQ(via("http://11.1.2.3:8000"), 3129);
  EXPECT_EQ(via("http://[fd00::1]:8000"), 0);
  // Loopback never goes through a proxy.
  EXPECT_EQ(via("http://127.0.0.1:8081/v1"), 0);
  EXPECT_EQ(via("http://localhost:11434"), 0);
  EXPECT_EQ(via("http://[::1]:8000"), 0);

  auto all = ProxySettings::parse("http://proxy:3128", "", "*");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->forOrigin(origin("https://api.openai.com")), nullptr);
  // No proxy for the scheme: direct.
  auto https_only = ProxySettings::parse("http://proxy:3128", "", "");
  ASSERT_TRUE(https_only.has_value());
  EXPECT_EQ(https_only->forOrigin(origin("http://vllm.lan:8000")), nullptr);
}

}  // namespace
}  // namespace switchyard::http
