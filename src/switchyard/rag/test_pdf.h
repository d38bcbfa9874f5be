#pragma once
// makeTestPdf: a minimal valid PDF (Helvetica text, one content stream per page, a correct
// xref table) written by hand, for tests of PDF ingestion. Test-only; not part of sy_rag.

#include <cstdio>
#include <string>
#include <vector>

namespace switchyard::rag::testing_pdf {

// `pages[i]` holds the lines of page i+1 (ASCII). `title` goes into the Info dictionary.
inline std::string makeTestPdf(const std::vector<std::vector<std::string>>& pages,
                               const std::string& title = "") {
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '(' || c == ')' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  const int n = static_cast<int>(pages.size());
  // Objects: 1 catalog, 2 pages, 3 font, 4 info, then per page: page object, content stream.
  std::vector<std::string> objects;
  std::string kids;
  for (int i = 0; i < n; ++i) kids += std::to_string(5 + 2 * i) + " 0 R ";
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(n) + " >>");
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  objects.push_back("<< /Title (" + escape(title) + ") /Producer (switchyard tests) >>");
  for (int i = 0; i < n; ++i) {
    objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
                      "<< /F1 3 0 R >> >> /Contents " +
                      std::to_string(6 + 2 * i) + " 0 R >>");
    std::string content = "BT /F1 12 Tf 14 TL 72 720 Td\n";
    for (const std::string& line : pages[static_cast<std::size_t>(i)]) {
      content += "(" + escape(line) + ") Tj T*\n";
    }
    content += "ET\n";
    objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
                      "endstream");
  }
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

}  // namespace switchyard::rag::testing_pdf
