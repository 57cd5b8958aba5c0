package scenario

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// homerRecord is one record of GET /api/v2/telephony/siptraces, with the
// field names and types of the Platform API's HomerRecord model (every
// value a string; date ISO-8601 with milliseconds).
type homerRecord struct {
	ID              string `json:"id"`
	Date            string `json:"date"`
	MilliTs         string `json:"milliTs"`
	MicroTs         string `json:"microTs"`
	Method          string `json:"method"`
	ReplyReason     string `json:"replyReason"`
	Ruri            string `json:"ruri"`
	RuriUser        string `json:"ruriUser"`
	FromUser        string `json:"fromUser"`
	FromTag         string `json:"fromTag"`
	ToUser          string `json:"toUser"`
	ToTag           string `json:"toTag"`
	PidUser         string `json:"pidUser"`
	ContactUser     string `json:"contactUser"`
	Callid          string `json:"callid"`
	Via1            string `json:"via1"`
	Via1Branch      string `json:"via1Branch"`
	Cseq            string `json:"cseq"`
	ContentType     string `json:"contentType"`
	UserAgent       string `json:"userAgent"`
	SourceIP        string `json:"sourceIp"`
	SourcePort      string `json:"sourcePort"`
	DestinationIP   string `json:"destinationIp"`
	DestinationPort string `json:"destinationPort"`
	Proto           string `json:"proto"`
	Family          string `json:"family"`
	Type            string `json:"type"`
	Node            string `json:"node"`
	Msg             string `json:"msg"`
	ConversationID  string `json:"conversationId"`
	ParticipantID   string `json:"participantId"`
}

// record returns the trace record Genesys keeps for message m of step st,
// logged at (Genesys clock) time at.
func (c *call) record(m *sipMsg, st *step, at time.Time, id string) (json.RawMessage, error) {
	l := c.trace
	src, dst := l.ends[st.sender], l.ends[st.sender.other()]
	r := homerRecord{
		ID:              id,
		Date:            at.UTC().Format("2006-01-02T15:04:05.000Z"),
		MilliTs:         strconv.FormatInt(at.UnixMilli(), 10),
		MicroTs:         strconv.FormatInt(at.UnixMicro(), 10),
		Method:          m.method,
		Ruri:            m.ruri,
		RuriUser:        m.ruriUser,
		FromUser:        m.fromUser,
		FromTag:         m.fromTag,
		ToUser:          m.toUser,
		ToTag:           m.toTag,
		PidUser:         m.paiUser,
		ContactUser:     m.contactUser,
		Callid:          m.callID,
		Via1:            m.via,
		Via1Branch:      m.branch,
		Cseq:            m.cseqValue(),
		UserAgent:       m.agent,
		SourceIP:        src.addr.String(),
		SourcePort:      strconv.Itoa(int(src.port)),
		DestinationIP:   dst.addr.String(),
		DestinationPort: strconv.Itoa(int(dst.port)),
		Proto:           "17",
		Family:          "2",
		Type:            "1",
		Node:            c.node,
		Msg:             string(m.render(nil, l.compact)),
		ConversationID:  c.conv,
		ParticipantID:   c.part,
	}
	if m.isResponse {
		// Homer stores a response's status code in method.
		r.Method, r.ReplyReason = strconv.Itoa(m.status), m.reason
	}
	if len(m.body) > 0 {
		r.ContentType = "application/sdp"
	}
	if l.tcp {
		r.Proto = "6"
	}
	if src.addr.Is6() {
		r.Family = "10"
	}
	return marshal(r)
}

// marshal encodes v as compact JSON without HTML escaping, so SIP's <, >
// and & stay readable in msg.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
