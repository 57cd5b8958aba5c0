package replay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng block types the framer looks into.
const (
	blockSHB = 0x0A0D0D0A
	blockPB  = 0x00000002 // obsolete Packet Block: same layout as an EPB here
	blockSPB = 0x00000003
	blockEPB = 0x00000006
)

// maxBlock is the largest block the framer accepts: Wireshark's limit
// (16 MiB of body), far above any packet (snap lengths stop at 256 KiB).
const maxBlock = 16<<20 + 4096

// damage is a repair the framer made to packet frame of the file (1-based,
// counting every packet block of the file), or a packet it had to drop.
type damage struct {
	frame   uint64
	dropped bool
	what    string
}

// framer sits between the file and pcapgo's pcapng reader. It reads the
// file one whole block at a time and checks each block's framing before
// pcapgo sees it, because pcapgo trusts the lengths inside a block: a
// packet whose captured length runs past its block made it read the next
// blocks as packet data and then report the file as truncated, and an
// original length below the captured length made the packet impossible to
// write. A damaged packet block whose block framing is intact costs that
// packet only:
//
//   - captured length larger than the block holds: the packet is dropped
//     (its bytes cannot be told apart from its options);
//   - original length below the captured length: the original length is
//     raised to the captured length (the bytes are the evidence);
//   - options that run past the block: the options are dropped, the packet
//     is kept.
//
// Damage to the framing itself (a block length that is not a multiple of
// 4, below 12, too large, or that the block's trailer contradicts) leaves
// no way to find the next block: the framer stops there with an error, and
// everything before that block has been delivered.
type framer struct {
	r   *bufio.Reader
	buf []byte // the current block, possibly repaired
	out []byte // the part of buf not yet read by pcapgo

	big    bool   // byte order of the current section
	skip   bool   // section of a version pcapgo skips: its packets do not count
	frames uint64 // packet blocks seen (in counted sections)
	off    int64  // file offset of the next block

	damage []damage // not yet claimed by Source.Next
	err    error    // the first framing error, returned from then on
}

// framingError is a framer error: the file cannot be read past it.
type framingError struct{ msg string }

func (e *framingError) Error() string { return e.msg }

func (f *framer) u32(b []byte) uint32 {
	if f.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *framer) u16(b []byte) uint16 {
	if f.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (f *framer) put32(b []byte, v uint32) {
	if f.big {
		binary.BigEndian.PutUint32(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, v)
	}
}

func (f *framer) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if err := f.next(); err != nil {
			f.err = err
			return 0, err
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// where describes the position of the block being read, for errors.
func (f *framer) where() string {
	return fmt.Sprintf("the block at byte %d (after frame %d)", f.off, f.frames)
}

// next reads, checks and (where it can) repairs the next block.
func (f *framer) next() error {
	var hdr [12]byte
	n, err := io.ReadFull(f.r, hdr[:8])
	switch {
	case n == 0 && err == io.EOF:
		return io.EOF
	case err != nil:
		return f.readErr(err, 0)
	}
	typ := binary.LittleEndian.Uint32(hdr[:4])
	if typ == blockSHB {
		// The byte-order magic decides how this section, including the
		// SHB's own length, is read.
		if _, err := io.ReadFull(f.r, hdr[8:12]); err != nil {
			return f.readErr(err, typ)
		}
		switch binary.LittleEndian.Uint32(hdr[8:12]) {
		case 0x1A2B3C4D:
			f.big = false
		case 0x4D3C2B1A:
			f.big = true
		default:
			return &framingError{fmt.Sprintf("%s: a section header with a bad byte-order magic % x", f.where(), hdr[8:12])}
		}
		n = 12
	} else {
		typ = f.u32(hdr[:4])
	}
	total := f.u32(hdr[4:8])
	switch {
	case total%4 != 0:
		return &framingError{fmt.Sprintf("%s: block length %d is not a multiple of 4", f.where(), total)}
	case total < 12:
		return &framingError{fmt.Sprintf("%s: block length %d is shorter than a block's header and trailer", f.where(), total)}
	case total > maxBlock:
		return &framingError{fmt.Sprintf("%s: block length %d is larger than any valid block (%d)", f.where(), total, maxBlock)}
	case typ == blockSHB && total < 28:
		return &framingError{fmt.Sprintf("%s: section header length %d is shorter than its fields", f.where(), total)}
	}
	if cap(f.buf) < int(total) {
		f.buf = make([]byte, total, max(int(total), 2*cap(f.buf)))
	}
	b := f.buf[:total]
	copy(b, hdr[:n])
	if _, err := io.ReadFull(f.r, b[n:]); err != nil {
		return f.readErr(err, typ)
	}
	if tr := f.u32(b[total-4:]); tr != total {
		if !f.blockFollows() {
			return &framingError{fmt.Sprintf("%s: block length %d at its start but %d at its end", f.where(), total, tr)}
		}
		// The length at the start leads to a plausible next block (or
		// the end of the file): only the trailer is damaged.
		f.put32(b[total-4:], total)
		fr := f.frames
		if isPacket(typ) && !f.skip {
			fr++
		}
		f.damage = append(f.damage, damage{frame: fr, what: fmt.Sprintf("block length %d at its start but %d at its end; the start is right (the next block follows it)", total, tr)})
	}
	f.off += int64(total)
	switch typ {
	case blockSHB:
		major, minor := f.u16(b[12:14]), f.u16(b[14:16])
		f.skip = major != 1 || minor != 0
	case blockEPB, blockPB, blockSPB:
		if f.skip {
			break
		}
		f.frames++
		if typ != blockSPB {
			var ok bool
			if b, ok = f.packet(b); !ok {
				f.out = nil
				return nil // dropped: go on with the next block
			}
		}
	}
	f.out = b
	return nil
}

// packet checks an EPB or PB and returns it, repaired, or false when the
// packet must be dropped.
func (f *framer) packet(b []byte) ([]byte, bool) {
	total := uint32(len(b))
	if total < 32 {
		f.damage = append(f.damage, damage{frame: f.frames, dropped: true,
			what: fmt.Sprintf("packet block of %d bytes is shorter than its fields; frame dropped", total)})
		return nil, false
	}
	capLen, origLen := f.u32(b[20:24]), f.u32(b[24:28])
	if capLen > total-32 {
		f.damage = append(f.damage, damage{frame: f.frames, dropped: true,
			what: fmt.Sprintf("captured length %d does not fit in its block of %d bytes; frame dropped", capLen, total)})
		return nil, false
	}
	var what string
	if origLen < capLen {
		f.put32(b[24:28], capLen)
		what = fmt.Sprintf("original length %d is less than the captured length %d; original length set to %d", origLen, capLen, capLen)
	}
	// Walk the options: one that runs past the block would make pcapgo
	// read the following blocks as its value.
	end := total - 4
	off := 28 + (capLen+3)&^3
	for off+4 <= end {
		code, l := f.u16(b[off:off+2]), uint32(f.u16(b[off+2:off+4]))
		if code == 0 {
			break
		}
		next := off + 4 + (l+3)&^3
		if next > end {
			// Cut the block back to its packet: a block without
			// options.
			nt := 28 + (capLen+3)&^3 + 4
			f.put32(b[4:8], nt)
			f.put32(b[nt-4:nt], nt)
			b = b[:nt]
			if what != "" {
				what += "; "
			}
			what += fmt.Sprintf("its options are unreadable (option %d of length %d runs past the end of the block); options dropped", code, l)
			break
		}
		off = next
	}
	if what != "" {
		f.damage = append(f.damage, damage{frame: f.frames, what: what})
	}
	return b, true
}

func isPacket(typ uint32) bool { return typ == blockEPB || typ == blockPB || typ == blockSPB }

// blockFollows reports whether what follows the current block is the end
// of the file or looks like a block header: a known block type and a
// plausible length.
func (f *framer) blockFollows() bool {
	h, err := f.r.Peek(8)
	if len(h) == 0 && err == io.EOF {
		return true
	}
	if len(h) < 8 {
		return false
	}
	typ := binary.LittleEndian.Uint32(h)
	if typ != blockSHB {
		typ = f.u32(h)
	}
	switch typ {
	case blockSHB, 1, blockPB, blockSPB, 4, 5, blockEPB, 7, 9, 10, 0xBAD, 0x40000BAD:
	default:
		return false
	}
	if typ == blockSHB {
		return true // its length is in the byte order it declares
	}
	l := f.u32(h[4:])
	return l >= 12 && l%4 == 0 && l <= maxBlock
}

// readErr turns a short read of a block of type typ (0: unknown) into a
// framing error that says where the file ends.
func (f *framer) readErr(err error, typ uint32) error {
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	if isPacket(typ) && !f.skip {
		return &framingError{fmt.Sprintf("file is truncated: cut inside frame %d (%d frames before it are intact)", f.frames+1, f.frames)}
	}
	return &framingError{fmt.Sprintf("file is truncated: cut inside the block at byte %d (the %d frames before it are intact)", f.off, f.frames)}
}
