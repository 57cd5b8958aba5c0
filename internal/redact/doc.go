// Package redact removes phone numbers from SIP messages without changing
// their length, so a redacted message can be written back into the captured
// frames it came from (the pipeline does that and fixes the checksums).
//
// # What is redacted
//
// In the Request-URI and in the headers of Config.Headers (by default From,
// To, P-Asserted-Identity, P-Preferred-Identity, Remote-Party-ID, Diversion,
// History-Info, Contact, Refer-To, Referred-By, and also P-Called-Party-ID
// and P-Charge-Info, which carry numbers too; the compact forms f, t, m, r,
// b are recognised), in every value of a comma-separated list:
//
//   - the user part of sip: and sips: URIs, including the parameters in it
//     (";npdi;rn=+1555…" of RFC 4694), and the number and parameters of tel:
//     URIs (";rn=", ";cic=", ";isub=", ";phone-context=" values);
//   - display names, quoted (with quoted-pair escapes) or not; a configured
//     header whose value is plain text ("X-Caller: 5551234567") is treated as
//     a display name.
//
// In those places every digit group is redacted: digits joined by at most
// three visual separators ("-", ".", "(", ")" and, in display names, also
// space, "/" and "\"). Percent-encoded digits (%30-%39), "+" (%2B) and
// separators count as the characters they encode; other escapes are never
// digits. Groups of fewer than three digits ("*72", "ext 12", index=1.1) are
// left alone; a user part mixing letters and digits ("voi18062") keeps its
// letters and loses its digit groups of three or more.
//
// In the body (within Content-Length; when it is application/sdp, multipart
// on a best-effort basis, or starts with "v=0"), the SDP o= user name is
// redacted when it is a number, and so are the digit groups of p= (phone
// number) lines. Nothing else in the body is touched.
//
// Not redacted: hosts, ports, IP addresses, URI and header parameters (tag,
// branch, reason, counter, index, escaped URI headers such as "?Reason=" or
// "?Replaces="), and the correlation keys Call-ID, X-Genesys-Call-ID and
// x-inin-cnv. With Config.RedactCallIDs the values of Config.CallIDHeaders
// get a keyed replacement of their letters and digits that keeps
// punctuation and shape (digits stay digits, hex letters hex letters, a
// UUID stays a UUID); a Call-ID inside Replaces is not rewritten.
//
// # Tokens
//
// A digit group is replaced by a token: separators and "+" stay in place,
// each digit becomes a digit derived with a keyed chain (AES-256, its key
// derived from the redaction key with HMAC-SHA256) from the digits of the
// group (never from their formatting), so "+1 (555) 123-4567",
// "tel:+1-555-123-4567" and "15551234567" get the same token digits.
//
// The token digit at each position depends only on the digits from that
// position to the end (for the last seven positions: on the last seven
// digits as a whole). So "+15551234567" and "5551234567" share the last ten
// digits of their tokens, and a call flow through a B2BUA that strips a
// country code stays easy to follow. The price: numbers that share their last
// seven or more digits visibly share the end of their tokens. No token digit
// depends on fewer than seven digits, so a token is no per-digit
// substitution that known numbers would give away.
//
// No 4-digit window of a number appears in its own token, nor in the text
// around it: the derivation re-draws on collision, and a percent-encoded
// spelling whose escape characters would complete such a window gets
// another token. The last Config.KeepDigits digits are the exception: they
// are kept, so with KeepDigits of 4 or more they survive by design (the CLI
// should warn). Because the windows avoided are those of the whole number, a
// shared tail can differ in a digit (about 1 pair in 1,000). A token can
// coincidentally contain a window of another number in the same message
// (with six 11-digit numbers, in about 1 call in 6); that reveals nothing,
// since a token does not depend on other numbers, and it cannot be avoided
// while tokens stay consistent.
//
// Scrub applies the same rules to a piece of a message that cannot be
// parsed whole (a frame written while the rest of its message is missing),
// and redacts every digit group of the lines whose place it cannot tell.
//
// Digits outside the places listed above (a number embedded in a Call-ID or
// a Via branch, SDP lines other than o= and p=) are not redacted.
package redact
