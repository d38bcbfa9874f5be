#include "switchyard/rag/document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "switchyard/rag/test_pdf.h"

namespace switchyard::rag {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> texts(const ParsedDocument& doc) {
  std::vector<std::string> out;
  for (const Block& b : doc.blocks) {
    out.push_back((b.kind == Block::Kind::kHeading ? "H" + std::to_string(b.level) + ":" : "P:") +
                  b.text);
  }
  return out;
}

TEST(DocumentTest, FormatsFromNamesAndPaths) {
  EXPECT_EQ(*parseFormat("Markdown"), Format::kMarkdown);
  EXPECT_EQ(*parseFormat("htm"), Format::kHtml);
  EXPECT_EQ(*parseFormat("pdf"), Format::kPdf);
  EXPECT_EQ(*parseFormat(""), Format::kText);
  EXPECT_THAT(parseFormat("docx").error().message(), HasSubstr("unknown document format 'docx'"));
  EXPECT_EQ(formatForPath("/a/b/README.md"), Format::kMarkdown);
  EXPECT_EQ(formatForPath("page.HTML"), Format::kHtml);
  EXPECT_EQ(formatForPath("x.pdf"), Format::kPdf);
  EXPECT_EQ(formatForPath("notes.txt"), Format::kText);
  EXPECT_EQ(formatForPath("dir.md/file"), Format::kText);
}

TEST(DocumentTest, TextSplitsParagraphsAtBlankLines) {
  auto doc = parseText("first line\nsame paragraph\n\n  \nsecond\r\n\r\nthird");
  EXPECT_EQ(texts(doc), (std::vector<std::string>{"P:first line\nsame paragraph", "P:second",
                                                  "P:third"}));
}

TEST(DocumentTest, MarkdownHeadingsParagraphsAndCode) {
  auto doc = parseMarkdown(R"(---
title: "The Handbook"
author: x
---
# Setup

Install the package.
Then run it.

## Linux ##
Use apt.

Windows
-------
Use the installer.

```sh
# not a heading
make

install
```
    #### too deep? no: indented four spaces is code, kept as text
####### seven hashes is text
)");
  EXPECT_EQ(doc.title, "The Handbook");
  EXPECT_EQ(texts(doc), (std::vector<std::string>{
                            "H1:Setup", "P:Install the package.\nThen run it.", "H2:Linux",
                            "P:Use apt.", "H2:Windows", "P:Use the installer.",
                            "P:sh\n# not a heading\nmake\n\ninstall",
                            "P:#### too deep? no: indented four spaces is code, kept as text\n"
                            "####### seven hashes is text"}));
}

TEST(DocumentTest, MarkdownTitleFromFirstH1) {
  auto doc = parseMarkdown("intro\n\n# Real Title\ntext\n# Second\n");
  EXPECT_EQ(doc.title, "Real Title");
}

TEST(DocumentTest, HtmlIsParsedNotStripped) {
  auto doc = parseHtml(R"(<!DOCTYPE html>
<html><head><title>Ops &amp; You</title><style>p { color: red }</style>
<script>var secret = "<p>not text</p>";</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
<h1>Deploying <em>safely</em></h1>
<p>Roll out in <b>stages</b>, watch the&nbsp;error rate.<br>Then widen.</p>
<div>Unclosed <span>inline</span> text
<ul><li>First &lt;item&gt;</li><li>Second</li></ul>
<h2>Rollback</h2>
<p>Use <code>deploy --undo</code>.
<table><tr><td>a</td><td>b</td></tr></table>
<!-- a comment -->
</body></html>)");
  ASSERT_TRUE(doc) << doc.error().toString();
  EXPECT_EQ(doc->title, "Ops & You");
  EXPECT_EQ(texts(*doc), (std::vector<std::string>{
                             "H1:Deploying safely",
                             "P:Roll out in stages, watch the\xC2\xA0" "error rate. Then widen.",
                             "P:Unclosed inline text", "P:First <item>", "P:Second", "H2:Rollback",
                             "P:Use deploy --undo.", "P:a", "P:b"}));
  for (const Block& b : doc->blocks) {
    EXPECT_THAT(b.text, Not(HasSubstr("secret")));
    EXPECT_THAT(b.text, Not(HasSubstr("color")));
    EXPECT_THAT(b.text, Not(HasSubstr("Home")));
  }
}

TEST(DocumentTest, HtmlTitleFallsBackToFirstH1AndFragmentsParse) {
  auto doc = parseHtml("<h1>Only a heading</h1><p>and text");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->title, "Only a heading");
  EXPECT_EQ(texts(*doc), (std::vector<std::string>{"H1:Only a heading", "P:and text"}));
  auto empty = parseHtml("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->blocks.empty());
}

TEST(DocumentTest, PdfPagesTextAndTitle) {
  const std::string pdf = testing_pdf::makeTestPdf(
      {{"Quarterly report (draft)", "Revenue grew in the north region."},
       {"Appendix", "The office moved to Lyon."}},
      "Q3 Report");
  auto doc = parsePdf(pdf);
  ASSERT_TRUE(doc) << doc.error().toString();
  EXPECT_EQ(doc->title, "Q3 Report");
  ASSERT_GE(doc->blocks.size(), 2u);
  std::string page1;
  std::string page2;
  for (const Block& b : doc->blocks) {
    ASSERT_EQ(b.kind, Block::Kind::kParagraph);
    (b.page == 1 ? page1 : page2) += normalizeSpace(b.text) + " ";
    EXPECT_TRUE(b.page == 1 || b.page == 2) << b.page;
  }
  EXPECT_THAT(page1, HasSubstr("Quarterly report (draft)"));
  EXPECT_THAT(page1, HasSubstr("Revenue grew in the north region."));
  EXPECT_THAT(page2, HasSubstr("The office moved to Lyon."));
  EXPECT_THAT(page1, Not(HasSubstr("Lyon")));
}

TEST(DocumentTest, BrokenPdfIsAnError) {
  auto doc = parsePdf("%PDF-1.4\nthis is not a pdf at all");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(parsePdf("").has_value());
}

TEST(DocumentTest, NormalizeSpace) {
  EXPECT_EQ(normalizeSpace("  a \n\t b  c "), "a b c");
  EXPECT_EQ(normalizeSpace(" \n "), "");
}

}  // namespace
}  // namespace switchyard::rag
