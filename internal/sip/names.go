package sip

// headerID identifies a well-known header field; 0 is any other header.
// Compact forms map to the ID of their long name, so "v" and "Via" share one.
type headerID uint8

const (
	hOther headerID = iota
	hAccept
	hAcceptContact
	hAcceptEncoding
	hAcceptLanguage
	hAlertInfo
	hAllow
	hAllowEvents
	hAuthenticationInfo
	hAuthorization
	hCallID
	hCallInfo
	hContact
	hContentDisposition
	hContentEncoding
	hContentLanguage
	hContentLength
	hContentType
	hCSeq
	hDate
	hDiversion
	hErrorInfo
	hEvent
	hExpires
	hFrom
	hHistoryInfo
	hIdentity
	hIdentityInfo
	hInReplyTo
	hMaxForwards
	hMIMEVersion
	hMinExpires
	hMinSE
	hOrganization
	hPAssertedIdentity
	hPPreferredIdentity
	hPath
	hPriority
	hPrivacy
	hProxyAuthenticate
	hProxyAuthorization
	hProxyRequire
	hRAck
	hReason
	hRecordRoute
	hReferTo
	hReferredBy
	hRejectContact
	hRemotePartyID
	hReplaces
	hReplyTo
	hRequestDisposition
	hRequire
	hRetryAfter
	hRoute
	hRSeq
	hServer
	hServiceRoute
	hSessionExpires
	hSubject
	hSubscriptionState
	hSupported
	hTimestamp
	hTo
	hUnsupported
	hUserAgent
	hVia
	hWarning
	hWWWAuthenticate
	numHeaderIDs
)

// maxKnownName is the length of the longest name in the table
// ("P-Preferred-Identity").
const maxKnownName = 20

// idOf classifies a header name, long or compact, in any letter case.
// It does not allocate: the name is lower-cased into a stack buffer and the
// compiler turns the string switch into comparisons without a conversion.
func idOf[T string | []byte](name T) headerID {
	if len(name) == 0 || len(name) > maxKnownName {
		return hOther
	}
	var buf [maxKnownName]byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lower := buf[:len(name)]
	if len(lower) == 1 {
		return compactID(lower[0])
	}
	switch string(lower) {
	case "accept":
		return hAccept
	case "accept-contact":
		return hAcceptContact
	case "accept-encoding":
		return hAcceptEncoding
	case "accept-language":
		return hAcceptLanguage
	case "alert-info":
		return hAlertInfo
	case "allow":
		return hAllow
	case "allow-events":
		return hAllowEvents
	case "authentication-info":
		return hAuthenticationInfo
	case "authorization":
		return hAuthorization
	case "call-id":
		return hCallID
	case "call-info":
		return hCallInfo
	case "contact":
		return hContact
	case "content-disposition":
		return hContentDisposition
	case "content-encoding":
		return hContentEncoding
	case "content-language":
		return hContentLanguage
	case "content-length":
		return hContentLength
	case "content-type":
		return hContentType
	case "cseq":
		return hCSeq
	case "date":
		return hDate
	case "diversion":
		return hDiversion
	case "error-info":
		return hErrorInfo
	case "event":
		return hEvent
	case "expires":
		return hExpires
	case "from":
		return hFrom
	case "history-info":
		return hHistoryInfo
	case "identity":
		return hIdentity
	case "identity-info":
		return hIdentityInfo
	case "in-reply-to":
		return hInReplyTo
	case "max-forwards":
		return hMaxForwards
	case "mime-version":
		return hMIMEVersion
	case "min-expires":
		return hMinExpires
	case "min-se":
		return hMinSE
	case "organization":
		return hOrganization
	case "p-asserted-identity":
		return hPAssertedIdentity
	case "p-preferred-identity":
		return hPPreferredIdentity
	case "path":
		return hPath
	case "priority":
		return hPriority
	case "privacy":
		return hPrivacy
	case "proxy-authenticate":
		return hProxyAuthenticate
	case "proxy-authorization":
		return hProxyAuthorization
	case "proxy-require":
		return hProxyRequire
	case "rack":
		return hRAck
	case "reason":
		return hReason
	case "record-route":
		return hRecordRoute
	case "refer-to":
		return hReferTo
	case "referred-by":
		return hReferredBy
	case "reject-contact":
		return hRejectContact
	case "remote-party-id":
		return hRemotePartyID
	case "replaces":
		return hReplaces
	case "reply-to":
		return hReplyTo
	case "request-disposition":
		return hRequestDisposition
	case "require":
		return hRequire
	case "retry-after":
		return hRetryAfter
	case "route":
		return hRoute
	case "rseq":
		return hRSeq
	case "server":
		return hServer
	case "service-route":
		return hServiceRoute
	case "session-expires":
		return hSessionExpires
	case "subject":
		return hSubject
	case "subscription-state":
		return hSubscriptionState
	case "supported":
		return hSupported
	case "timestamp":
		return hTimestamp
	case "to":
		return hTo
	case "unsupported":
		return hUnsupported
	case "user-agent":
		return hUserAgent
	case "via":
		return hVia
	case "warning":
		return hWarning
	case "www-authenticate":
		return hWWWAuthenticate
	}
	return hOther
}

// compactID maps a lower-case compact header name to its long form:
// RFC 3261 §7.3.3 and the IANA "Header Fields" registry (RFC 3515 r,
// RFC 3892 b, RFC 6665 o/u, RFC 4028 x, RFC 3841 a/j/d, RFC 8224 y, RFC 4474 n).
func compactID(c byte) headerID {
	switch c {
	case 'a':
		return hAcceptContact
	case 'b':
		return hReferredBy
	case 'c':
		return hContentType
	case 'd':
		return hRequestDisposition
	case 'e':
		return hContentEncoding
	case 'f':
		return hFrom
	case 'i':
		return hCallID
	case 'j':
		return hRejectContact
	case 'k':
		return hSupported
	case 'l':
		return hContentLength
	case 'm':
		return hContact
	case 'n':
		return hIdentityInfo
	case 'o':
		return hEvent
	case 'r':
		return hReferTo
	case 's':
		return hSubject
	case 't':
		return hTo
	case 'u':
		return hAllowEvents
	case 'v':
		return hVia
	case 'x':
		return hSessionExpires
	case 'y':
		return hIdentity
	}
	return hOther
}

// canonical returns the conventional spelling of a well-known header name,
// or "" for hOther.
func (id headerID) canonical() string {
	switch id {
	case hAccept:
		return "Accept"
	case hAcceptContact:
		return "Accept-Contact"
	case hAcceptEncoding:
		return "Accept-Encoding"
	case hAcceptLanguage:
		return "Accept-Language"
	case hAlertInfo:
		return "Alert-Info"
	case hAllow:
		return "Allow"
	case hAllowEvents:
		return "Allow-Events"
	case hAuthenticationInfo:
		return "Authentication-Info"
	case hAuthorization:
		return "Authorization"
	case hCallID:
		return "Call-ID"
	case hCallInfo:
		return "Call-Info"
	case hContact:
		return "Contact"
	case hContentDisposition:
		return "Content-Disposition"
	case hContentEncoding:
		return "Content-Encoding"
	case hContentLanguage:
		return "Content-Language"
	case hContentLength:
		return "Content-Length"
	case hContentType:
		return "Content-Type"
	case hCSeq:
		return "CSeq"
	case hDate:
		return "Date"
	case hDiversion:
		return "Diversion"
	case hErrorInfo:
		return "Error-Info"
	case hEvent:
		return "Event"
	case hExpires:
		return "Expires"
	case hFrom:
		return "From"
	case hHistoryInfo:
		return "History-Info"
	case hIdentity:
		return "Identity"
	case hIdentityInfo:
		return "Identity-Info"
	case hInReplyTo:
		return "In-Reply-To"
	case hMaxForwards:
		return "Max-Forwards"
	case hMIMEVersion:
		return "MIME-Version"
	case hMinExpires:
		return "Min-Expires"
	case hMinSE:
		return "Min-SE"
	case hOrganization:
		return "Organization"
	case hPAssertedIdentity:
		return "P-Asserted-Identity"
	case hPPreferredIdentity:
		return "P-Preferred-Identity"
	case hPath:
		return "Path"
	case hPriority:
		return "Priority"
	case hPrivacy:
		return "Privacy"
	case hProxyAuthenticate:
		return "Proxy-Authenticate"
	case hProxyAuthorization:
		return "Proxy-Authorization"
	case hProxyRequire:
		return "Proxy-Require"
	case hRAck:
		return "RAck"
	case hReason:
		return "Reason"
	case hRecordRoute:
		return "Record-Route"
	case hReferTo:
		return "Refer-To"
	case hReferredBy:
		return "Referred-By"
	case hRejectContact:
		return "Reject-Contact"
	case hRemotePartyID:
		return "Remote-Party-ID"
	case hReplaces:
		return "Replaces"
	case hReplyTo:
		return "Reply-To"
	case hRequestDisposition:
		return "Request-Disposition"
	case hRequire:
		return "Require"
	case hRetryAfter:
		return "Retry-After"
	case hRoute:
		return "Route"
	case hRSeq:
		return "RSeq"
	case hServer:
		return "Server"
	case hServiceRoute:
		return "Service-Route"
	case hSessionExpires:
		return "Session-Expires"
	case hSubject:
		return "Subject"
	case hSubscriptionState:
		return "Subscription-State"
	case hSupported:
		return "Supported"
	case hTimestamp:
		return "Timestamp"
	case hTo:
		return "To"
	case hUnsupported:
		return "Unsupported"
	case hUserAgent:
		return "User-Agent"
	case hVia:
		return "Via"
	case hWarning:
		return "Warning"
	case hWWWAuthenticate:
		return "WWW-Authenticate"
	}
	return ""
}
