package genesys

import (
	"strings"
	"testing"
)

func TestLookupRegion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mypurecloud.com", "mypurecloud.com"},
		{" USW2.pure.cloud. ", "usw2.pure.cloud"},
		{"api.mypurecloud.de", "mypurecloud.de"},
		{"login.euw2.pure.cloud", "euw2.pure.cloud"},
		{"ap-southeast-2", "mypurecloud.com.au"},
		{"us-east-2", "use2.us-gov-pure.cloud"},
		{"mxc1.pure.cloud", "mxc1.pure.cloud"},
	}
	for _, tt := range tests {
		r, err := LookupRegion(tt.in)
		if err != nil || r.Domain != tt.want {
			t.Errorf("LookupRegion(%q) = %v, %v; want %s", tt.in, r.Domain, err, tt.want)
		}
	}
	_, err := LookupRegion("mypurecloud.co")
	if err == nil {
		t.Fatal("unknown region accepted")
	}
	for _, r := range Regions() {
		if !strings.Contains(err.Error(), r.Domain) {
			t.Errorf("error does not list %s: %v", r.Domain, err)
		}
		if r.APIURL() != "https://api."+r.Domain || r.LoginURL() != "https://login."+r.Domain {
			t.Errorf("URLs of %s", r.Domain)
		}
	}
	if n := len(Regions()); n != 16 {
		t.Errorf("%d regions", n)
	}
}
