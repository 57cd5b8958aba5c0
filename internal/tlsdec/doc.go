// Package tlsdec decrypts SIP carried over TLS in captured TCP streams, using
// the secrets of an NSS key log (the SSLKEYLOGFILE format written by
// browsers, OpenSSL, Go's crypto/tls KeyLogWriter and most SBCs) or, for
// TLS_RSA_* cipher suites, the server's RSA private key.
//
// The package is transport-agnostic: the caller reassembles TCP and hands a
// [Conn] the in-order payload of each direction, chunk by chunk, together
// with the number of the frame each chunk came from. Conn reassembles TLS
// records and handshake messages across chunks, follows the handshake
// (ClientHello, ServerHello, HelloRetryRequest, ChangeCipherSpec, Finished,
// KeyUpdate), derives the record keys and emits the plaintext of every
// application_data record, attributed to the frame that completed it.
//
// Supported: TLS 1.0–1.2 with AES-GCM, ChaCha20-Poly1305 and AES-CBC with
// HMAC-SHA1/SHA256/SHA384 (including encrypt_then_mac, RFC 7366), any key
// exchange; TLS 1.3 with TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and
// TLS_CHACHA20_POLY1305_SHA256, HelloRetryRequest and KeyUpdate. Not
// supported: TLS 1.3 0-RTT early data (counted as failed records), SSL 3.0,
// SSLv2-format ClientHellos, RC4/3DES/CCM/PSK suites.
//
// Live capture: while [KeyLog.Follow] runs, records whose secrets are not
// in the key log yet wait in the Conn (at most 16 records or 32 KiB per
// direction) and are emitted, with their original frame numbers, once the
// secrets appear; [Conn.Flush] gives up on them. With a static key log only
// records that arrive before the ServerHello they depend on wait. Missing capture data is reported with [Conn.Lost];
// decryption resumes after it.
//
// Records that cannot be decrypted are counted in [ConnStats], never fatal:
// a capture that starts mid-connection, a missing or wrong key log, lost
// segments and garbage all yield counts and a one-line explanation.
//
// Key material never appears in errors, logs or the String/Format output of
// this package's types; [Conn.KeyLogLines] is the one deliberate exception,
// for writing a pcapng Decryption Secrets Block on explicit request.
package tlsdec
