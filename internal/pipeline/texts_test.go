package pipeline

import (
	"strconv"
	"strings"
	"testing"
)

// Strings handed out stay intact while later ones fill and replace chunks,
// and a comment longer than the free tail is copied whole.
func TestTextsStayImmutable(t *testing.T) {
	var tx texts
	var got, want []string
	for i := 0; i < 5000; i++ {
		s := "genesys: call=" + strconv.Itoa(i) + strings.Repeat("x", i%700)
		if i%997 == 0 {
			s += strings.Repeat("y", 3*textChunk) // outgrows any tail
		}
		got = append(got, tx.keep(append(tx.tail(), s...)))
		want = append(want, s)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("string %d changed", i)
		}
	}
	if tx.keep(tx.tail()) != "" {
		t.Fatal("empty comment should be empty")
	}
	if n := testing.AllocsPerRun(1000, func() { tx.keep(append(tx.tail(), "genesys: call=1"...)) }); n > 0.01 {
		t.Fatalf("%.3f allocs per comment, want amortized 0", n)
	}
}
