// Package trace reads Genesys Cloud SIP trace records and indexes them for
// correlation with captured packets.
//
// A trace record is one SIP message as Genesys Cloud saw it: a Homer record
// from the Platform API (GET /api/v2/telephony/siptraces, models
// Sipsearchresult and HomerRecord of the Genesys Cloud SDKs) or a record of a
// trace export. [Load] and [LoadFile] recognize, by content and not by file
// name:
//
//   - the siptraces API response, an object {"data":[record…],"count":N}
//     (other members such as status, sid and message are ignored);
//   - a bare JSON array of records;
//   - NDJSON, one record object per line (any whitespace between objects
//     is accepted);
//   - the trace JSON export, whose records carry the correlation key
//     themselves, in any of the containers above.
//
// Record members, first match wins; unknown members are ignored:
//
//	time         microTs (µs), milliTs (ms), date, timestamp, time
//	key          call-id, callId, x-genesys-call-id, else the X-Genesys-Call-ID header of msg
//	conversation conversationId, else the x-inin-cnv header of msg
//	SIP Call-ID  callid, sipCallId, else the Call-ID header of msg
//	event        method (a method, or a status code with replyReason), else event
//	             ("INVITE", "408 Request Timeout"), else the start line of msg
//	others       cseq, via1Branch (else via1, else msg), fromUser, toUser, ruriUser,
//	             pidUser, sourceIp, sourcePort, destinationIp, destinationPort,
//	             proto, node, participantId, msg
//
// The API sends microTs, milliTs and ports as strings; numbers are accepted
// too. A time is RFC 3339 with a zone ('Z' or an offset, fraction optional)
// or an epoch number, as a JSON number or a numeric string. microTs and
// milliTs have fixed units; elsewhere the unit follows the magnitude:
// below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds,
// else nanoseconds (each range covers 1973 to 5138 in exactly one unit).
// Times must lie after 1970-01-01T00:00:00Z and no later than
// 2262-04-11T23:47:16.854775807Z, the end of int64 Unix nanoseconds; a
// well-formed time outside that (year 1700, year 9999) is "out of range",
// never wrapped around or clamped. A record without a usable time, or
// without any of key, conversation id, SIP Call-ID or another correlation
// header, is skipped and counted in the [Report] with the first such
// record's position and what was wrong with it.
//
// In an NDJSON stream a line that is not JSON, or not an object, is skipped
// and counted the same way; reading resumes at the next line that starts
// with '{'. The first record must parse, since it tells the container; in
// an array or API response a syntax error fails the load. An input with no
// usable record fails with [ErrNoRecords]. A UTF-8 BOM is accepted; UTF-16
// and UTF-32 text, pcap and pcapng captures, gzip and zip archives and
// other binary data are refused with an error that says which ([Sniff]).
//
// Records are kept in an [Index] that finds them by X-Genesys-Call-ID,
// conversation id, SIP Call-ID or another configured correlation header, and
// iterates them in time order. Two records are the same, and stored once,
// when time, SIP Call-ID, CSeq, method or status, top Via branch, addresses,
// ports and node agree.
//
// Large files: LoadFile keeps raw SIP messages on disk and reads them back
// on demand ([Record.Message]); records are stored in compact form, about
// 300 bytes each with their index entries. Parsing is a hand-written
// scanner, not encoding/json, spread over GOMAXPROCS goroutines: the reader
// cuts the file into blocks at likely record boundaries, workers parse the
// blocks and verify each cut, and a wrong guess (nested objects,
// pretty-printed NDJSON) makes the load start over with exact splitting.
// Memory for reading is bounded; a single record may be up to 64 MiB.
package trace
