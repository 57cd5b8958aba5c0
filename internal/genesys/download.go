package genesys

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
)

const downloadPath = "/api/v2/telephony/siptraces/download"

// isCaptureMagic reports whether b starts like a pcap (µs or ns, either
// byte order) or pcapng (Section Header Block) file.
func isCaptureMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch binary.BigEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a:
		return true
	}
	return false
}

// DownloadPCAP fetches the Genesys-side capture for q and writes it to w:
//
//  1. POST /api/v2/telephony/siptraces/download with the filters
//     (SIPSearchPublicRequest: dateStart, dateEnd, callId, toUser, fromUser,
//     conversationId) → {"downloadId":…}; needs telephony:pcap:add.
//  2. GET …/download/{downloadId} until it returns {"url":…}; needs
//     telephony:pcap:view. The API does not document how "not ready" looks;
//     202, 404 and a 200 without url are all taken as "poll again", with a
//     backoff from DownloadPollMin to DownloadPollMax, for at most
//     DownloadTimeout.
//  3. GET the signed URL with a separate client that carries no credentials
//     (a signed S3 URL rejects a second auth mechanism).
//
// The body must start like a pcap or pcapng file. It returns the bytes
// written.
func (c *Client) DownloadPCAP(ctx context.Context, q Query, w io.Writer) (int64, error) {
	if err := q.validate(); err != nil {
		return 0, err
	}
	if q.Destination != "" {
		return 0, fmt.Errorf("%w: a destination pattern cannot filter a PCAP download; use ToUser (exact)", ErrBadQuery)
	}
	id, err := c.startDownload(ctx, q)
	if err != nil {
		return 0, err
	}
	signed, err := c.waitDownload(ctx, id)
	if err != nil {
		return 0, err
	}
	return c.fetchSigned(ctx, signed, w)
}

func (c *Client) startDownload(ctx context.Context, q Query) (string, error) {
	body := map[string]string{"dateStart": apiTime(q.Start), "dateEnd": apiTime(q.End)}
	for k, v := range map[string]string{"callId": q.CallID, "toUser": q.ToUser, "fromUser": q.FromUser, "conversationId": q.ConversationID} {
		if v != "" {
			body[k] = v
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("genesys: encoding the download request: %w", err)
	}
	resp, err := c.call(ctx, request{method: http.MethodPost, path: downloadPath, body: b, permission: PermissionAdd})
	if err != nil {
		return "", err
	}
	var d struct {
		DownloadID string `json:"downloadId"`
	}
	if err := json.Unmarshal(resp.body, &d); err != nil || d.DownloadID == "" {
		return "", fmt.Errorf("%w: POST %s: expected {\"downloadId\":…}", ErrMalformed, downloadPath)
	}
	c.log.Info("genesys PCAP download requested", "downloadId", d.DownloadID)
	return d.DownloadID, nil
}

// waitDownload polls the download status until it returns a URL.
func (c *Client) waitDownload(ctx context.Context, id string) (*url.URL, error) {
	path := downloadPath + "/" + url.PathEscape(id)
	deadline := c.cfg.Now().Add(c.cfg.DownloadTimeout)
	wait := c.cfg.DownloadPollMin
	for polls := 1; ; polls++ {
		resp, err := c.call(ctx, request{method: http.MethodGet, path: path, permission: PermissionView, idempotent: true})
		switch {
		case err == nil && resp.status == http.StatusOK:
			var s struct {
				URL string `json:"url"`
			}
			if json.Unmarshal(resp.body, &s) != nil {
				return nil, fmt.Errorf("%w: GET %s: expected {\"url\":…}", ErrMalformed, path)
			}
			if s.URL == "" {
				break // pending
			}
			u, perr := url.Parse(s.URL)
			if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, fmt.Errorf("%w: GET %s: url is not an absolute http(s) URL", ErrMalformed, path)
			}
			c.log.Info("genesys PCAP ready", "downloadId", id, "host", u.Host, "polls", polls)
			return u, nil
		case err == nil: // 202 and other 2xx: pending
		case resp != nil && resp.status == http.StatusNotFound: // pending
		default:
			return nil, err
		}
		if !c.cfg.Now().Add(wait).Before(deadline) {
			return nil, fmt.Errorf("%w: download %s has no URL after %s (%d polls, last status %d)",
				ErrNotReady, id, c.cfg.DownloadTimeout, polls, resp.status)
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			if ctx.Err() == nil {
				return nil, fmt.Errorf("genesys: waiting for download %s: %w", id, err)
			}
			return nil, &InterruptedError{Host: hostOf(c.apiURL), What: "PCAP download " + id,
				State: fmt.Sprintf("not ready after %s (status %d), next poll due in %s", plural(polls, "poll"), resp.status, wait),
				Err:   ctx.Err()}
		}
		wait = min(wait*2, c.cfg.DownloadPollMax)
	}
}

var s3Code = regexp.MustCompile(`<Code>([A-Za-z0-9.]{1,64})</Code>`)

// fetchSigned GETs the signed URL without credentials and streams it to w.
func (c *Client) fetchSigned(ctx context.Context, u *url.URL, w io.Writer) (int64, error) {
	endpoint := "GET signed URL on " + u.Host
	resp, err := c.sendStream(ctx, c.plain, http.MethodGet, u.String(), nil, http.Header{"Accept": {"*/*"}}, true, endpoint)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// S3 error bodies can echo the signature (SignatureDoesNotMatch):
		// keep only the error code.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		e := &APIError{Endpoint: endpoint, Status: resp.StatusCode}
		if m := s3Code.FindSubmatch(b); m != nil {
			e.Code = string(m[1])
		}
		if resp.StatusCode == http.StatusForbidden {
			e.hint = "the signed URL was refused; it may have expired, fetch again"
		}
		return 0, e
	}
	br := bufio.NewReader(resp.Body)
	head, err := br.Peek(4)
	if err != nil {
		if len(head) == 0 {
			return 0, fmt.Errorf("%w: %s: empty body", ErrNotPCAP, endpoint)
		}
		return 0, fmt.Errorf("%w: %s: %d-byte body", ErrNotPCAP, endpoint, len(head))
	}
	if !isCaptureMagic(head) {
		return 0, fmt.Errorf("%w: %s: body starts with % x, not a pcap/pcapng magic number", ErrNotPCAP, endpoint, head)
	}
	n, err := io.Copy(w, br)
	if err != nil && ctx.Err() != nil {
		return n, &InterruptedError{Host: u.Host, What: "PCAP file", State: fmt.Sprintf("%d bytes received", n), Err: ctx.Err()}
	}
	if err != nil {
		return n, fmt.Errorf("genesys: %s: copying the capture after %d bytes: %w", endpoint, n, sanitizeErr(err))
	}
	c.log.Info("genesys PCAP downloaded", "bytes", n)
	return n, nil
}
