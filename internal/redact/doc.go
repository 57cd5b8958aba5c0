// Package redact removes phone numbers from SIP messages without changing
// their length, so a redacted message can be written back into the captured
// frames it came from (the pipeline does that and fixes the checksums).
//
// # What is redacted
//
// Everything below is on by default; Config.Headers (the CLI's
// --redact-headers) chooses the headers, the body rules always apply.
//
// Identity and routing headers, parsed as lists of name-addr or addr-spec
// values: the Request-URI, From, To, P-Asserted-Identity,
// P-Preferred-Identity, Remote-Party-ID, Diversion, History-Info, Contact,
// Refer-To, Referred-By, P-Called-Party-ID, P-Charge-Info, Route,
// Record-Route, Path, Service-Route, P-Associated-URI, P-Served-User and
// Reply-To (the compact forms f, t, m, r, b are recognised). In every value
// of the list:
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
// Authorization and Proxy-Authorization: the username parameter, like a URI
// user part (it usually is the From user and gets the same token), and the
// uri parameter, like the Request-URI. Realm, nonce, cnonce, response and
// opaque are kept. A redacted username no longer verifies against the
// digest response; nothing in a capture needs it to, and an unredacted one
// would give the number away.
//
// Free text: Subject (s), Organization, Warning, Reason, Call-Info,
// Alert-Info and Error-Info get the free-text rules below. User-Agent and
// Server are not redacted: they name software, and their version numbers
// look like digit groups. In-Reply-To, Replaces, Join and Target-Dialog are
// not redacted: they hold Call-IDs, which are correlation keys.
//
// Genesys headers: every header whose name starts with x-inin-,
// x-genesys-, x-pcv- or x-gcv- (the prefixes Genesys Cloud reserves for
// its own headers; x-inin-ani and x-inin-dnis carry the caller's and the
// dialled number, other names vary by release and trunk settings, so the
// rule covers the families rather than a list) gets the free-text rules,
// and a value that is a number as a whole ("x-inin-dnis: 7001", any number
// of three or more digits) is redacted whatever its length. The
// correlation headers Config.CallIDHeaders (X-Genesys-Call-ID, x-inin-cnv)
// are excluded: they are kept, or replaced as call ids with
// Config.RedactCallIDs. The free-text rules only touch phone-looking digit
// groups, so the UUIDs, hex ids and short counters such headers also carry
// are kept. A "*" name in Config.Headers adds such a family.
//
// Bodies (within Content-Length), by Content-Type:
//
//   - application/sdp: the o= user name when it is a number, the digit
//     groups of p= (phone number) lines, and sip:/tel: URIs on other lines
//     (i=, u=, a=). c= and m= lines, addresses and ports are never touched.
//   - multipart/*: split at the boundary parameter (RFC 2046 §5.1.1, quoted
//     or not), each part redacted by its own Content-Type, at any nesting
//     depth (up to 8 levels; deeper parts as unknown text). Without a
//     usable boundary (missing, or not found in the body) the first line
//     starting with "--" gives it; failing that the body is unknown text.
//     Part headers are read, not changed. Preamble and epilogue are
//     unknown text.
//   - message/sipfrag, message/sip: the header rules, line by line, as
//     Scrub applies them.
//   - application/ISUP, application/QSIG, application/octet-stream,
//     audio/*, image/*, video/*: binary, left alone (ISUP carries numbers
//     BCD-coded, which is not covered).
//   - every other type (PIDF, resource-lists, dialog-info, any XML, JSON,
//     text/plain, ...): the free-text rules, unless the content has control
//     characters (then it is binary and left alone). A body without
//     Content-Type is SDP when it starts with "v=0", else text.
//   - unknown text: SDP-looking lines ("x=") get the SDP rules, others the
//     free-text rules.
//
// The free-text rules redact the user part of sip:/sips: URIs and the
// number of tel: URIs wherever they appear (with the same tokens as in the
// headers), and every digit group that looks like a phone number: digits
// joined by at most three visual separators ("-", ".", "(", ")", "/", "\",
// space, tab) that is
//
//   - "+" (or "%2B") and 8 to 15 digits (E.164), not starting with 0, or
//   - 7 to 15 digits;
//
// not part of a word ("a1234567", "IP4", hex ids, tags), not after a digit
// and ":", "." or "," (clock times, decimals), and not a decimal number
// ("41.8781"), a date ("2026-11-25", "25/11/2026", "20261125"), a Unix time
// (10, 13, 16, 19 digits starting with 1) or the last group of a UUID. An
// IPv4 address ends a group and is never redacted, nor is anything with
// more than 15 digits (NTP times, long ids). A group that fails as a whole
// is judged by its space-separated chunks, so "3125550100 3125550101" is two
// numbers. In XML, the values of the call-id, local-tag and remote-tag
// attributes (RFC 4235 dialog-info) are kept: they are dialog identifiers.
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
// parsed whole (a frame written while the rest of its message is missing):
// header lines by their name, SDP lines, lines that are no header (those of
// a body) with the free-text rules, and every digit group of the lines
// whose place it cannot tell.
//
// Digits outside the places listed above are not redacted: a number
// embedded in a Call-ID, a tag, a Via branch or a URI parameter
// (";orig-user=20008909"), in a header not listed (X-headers of other
// vendors, User-to-User), in an Identity (STIR/SHAKEN) PASSporT, whose
// numbers are base64url-encoded, or in SDP lines other than o= and p=.
package redact
