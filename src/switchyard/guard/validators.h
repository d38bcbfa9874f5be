#pragma once
// Validators: the checks that turn a regex candidate into a finding (checksums, number ranges,
// registry tables, entropy). Pure functions over bytes; thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::guard {

// Luhn (mod 10) over a string of ASCII digits. False on empty input or any non-digit.
bool luhnValid(std::string_view digits);

// True when `digits` (13-19 ASCII digits) starts with a known issuer prefix (Visa, Mastercard,
// Amex, Discover, JCB, Diners, UnionPay, Maestro) and has a length that issuer uses.
bool cardIssuerValid(std::string_view digits);

// The registered IBAN length for a two-letter country code, 0 when the country has no IBAN.
int ibanLength(std::string_view country);

// Compact IBAN (no spaces, upper case): known country, registered length, mod-97 == 1.
bool ibanValid(std::string_view compact);

// US SSN from its three parts: area 001-899 except 666, group 01-99, serial 0001-9999, and not
// one of the numbers the SSA voided after they were published (078-05-1120, 219-09-9999).
bool ssnValid(int area, int group, int serial);

// Dotted-quad IPv4, four decimal octets 0-255 without leading zeros.
bool ipv4Valid(std::string_view text);

// Any textual IPv6 form that inet_pton accepts (with "::" compression, embedded IPv4).
bool ipv6Valid(std::string_view text);

// Shannon entropy of the byte distribution, in bits per byte.
double shannonEntropy(std::string_view text);

// shannonEntropy(text) >= threshold, always the same answer, but faster: it computes the
// entropy with one log2 call and falls back to the exact value only right at the threshold.
bool entropyAtLeast(std::string_view text, double threshold);

// How many of {lower, upper, digit, other} occur in text.
int charClassCount(std::string_view text);

// base64url (or standard base64) decoding without padding requirements; nullopt on a bad byte.
std::optional<std::string> base64Decode(std::string_view text);

// A JWT/JWS: three dot-separated base64url parts whose header decodes to a JSON object that has
// an "alg" member. (The signature may be empty for alg "none".)
bool jwtValid(std::string_view token);

// Validators a custom regex detector may name in its options: "luhn", "card", "iban", "ssn",
// "ipv4", "ipv6", "jwt", "entropy" (uses the detector's entropy threshold). Each takes the
// matched text. nullptr for an unknown name.
using NamedValidator = bool (*)(std::string_view match, double entropy_threshold);
NamedValidator findValidator(std::string_view name);

}  // namespace switchyard::guard
