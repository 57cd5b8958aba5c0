package pipeline

import "unsafe"

// texts hands out the comment strings of a run without an allocation per
// comment: a comment is formatted straight into the free tail of a large
// chunk and becomes a string over those bytes. Bytes a string covers are
// never written again (only the tail past the chunk's length is), so the
// strings stay immutable; a full chunk is replaced, and collected once the
// last frame using one of its strings has been written.
type texts struct{ chunk []byte }

const (
	textChunk   = 64 << 10
	textHeadway = 1 << 10 // a fresh chunk when less than this is left
)

// tail returns an empty slice over the chunk's free bytes, to append a
// comment to.
func (t *texts) tail() []byte {
	if cap(t.chunk)-len(t.chunk) < textHeadway {
		t.chunk = make([]byte, 0, textChunk)
	}
	return t.chunk[len(t.chunk):]
}

// keep returns b, appended to tail(), as a string. When b outgrew the tail
// (append moved it elsewhere), it is copied.
func (t *texts) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	free := t.chunk[len(t.chunk):cap(t.chunk)]
	if len(free) == 0 || unsafe.SliceData(b) != unsafe.SliceData(free) || len(b) > len(free) {
		return string(b)
	}
	t.chunk = t.chunk[:len(t.chunk)+len(b)]
	return unsafe.String(unsafe.SliceData(b), len(b))
}
