// Package genesys is the Genesys Cloud Platform API client of genesys-sip: it
// resolves regions, loads credentials, obtains OAuth client-credentials
// tokens, and calls the SIP trace endpoints (search, PCAP download) with the
// retry, rate-limit and error policy an incident tool needs.
//
// Facts it follows (see DESIGN.md, "Facts about Genesys Cloud"):
//
//   - Login: POST https://login.<region>/oauth/token with Basic auth and
//     grant_type=client_credentials; API: https://api.<region>.
//   - GET /api/v2/telephony/siptraces (permission telephony:pcap:view) returns
//     {"data":[HomerRecord…],"count":N} without paging.
//   - POST /api/v2/telephony/siptraces/download (telephony:pcap:add) returns a
//     downloadId; GET …/download/{downloadId} (telephony:pcap:view) returns
//     {"url":…}, a signed URL fetched without the bearer token.
//   - 300 requests per minute per token; 429 carries Retry-After.
//
// Failures that clear (429, 5xx, timeouts, connections reset or closed, also
// in the middle of a body) are retried with backoff within the rate limit;
// failures that do not (a host that does not resolve, a TLS certificate that
// does not verify, a refused connection to a URL given explicitly, 400, 403,
// 404, 401 after one token refresh) fail at once, in one line that says why.
// A request whose context ends returns an *InterruptedError naming the host,
// what it was waiting for, the attempt and the last error.
//
// Secrets (client secret, access token, Authorization header, signed URL
// query) never appear in errors or logs. Query strings, which carry phone
// numbers, are not logged either.
package genesys
