#pragma once
// JSON for the dashboard's API (/admin/api/*), whose numbers people read: like
// boost::json::serialize, except that numbers that are not integers come out in plain decimal
// notation, rounded for display. Boost.JSON 1.81 writes doubles in exponent form (60.0 as
// "6E1", 0.25 as "2.5E-1"), which every JSON parser reads but nobody wants to see in a table or
// a curl reply. Money (a key that names "usd" or "cost") keeps 6 significant digits, so a
// request costing $0.0000123 still shows; everything else (milliseconds, rates, ratios) keeps
// at most 3 decimals, or 3 significant digits below 1. Integral results print as integers.
//
// Thread-safety: stateless.

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace switchyard::dashboard {

std::string displayJson(const boost::json::value& value);

// One number as displayJson writes it; `money`: 6 significant digits. Not finite: "null".
std::string displayNumber(double value, bool money);

}  // namespace switchyard::dashboard
