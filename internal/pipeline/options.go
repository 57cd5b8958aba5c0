package pipeline

import "github.com/gopacket/gopacket/pcapgo"

// hasOptions reports whether an input packet carried any pcapng option worth
// writing back. Packets without options take the cheaper path.
func hasOptions(o *pcapgo.NgPacketOptions) bool {
	return len(o.Comments) > 0 || o.Flags != nil || len(o.Hashes) > 0 || o.DropCount != nil ||
		o.PacketID != nil || o.Queue != nil || len(o.Verdicts) > 0
}
