package genesys

import (
	"fmt"
	"strings"
)

// Region is a Genesys Cloud region: its public domain (the suffix of the
// login. and api. hosts) and the AWS region it runs in.
type Region struct {
	Domain string // e.g. "mypurecloud.com"
	AWS    string // e.g. "us-east-1"
	Name   string // human-readable location
}

// Regions returns the Genesys Cloud regions, in the order Genesys lists them.
// The list follows the region hosts of the Platform API SDKs and
// help.genesys.cloud "AWS regions for Genesys Cloud deployment".
func Regions() []Region {
	return []Region{
		{"mypurecloud.com", "us-east-1", "Americas (US East)"},
		{"use2.us-gov-pure.cloud", "us-east-2", "Americas (US East 2, FedRAMP)"},
		{"usw2.pure.cloud", "us-west-2", "Americas (US West)"},
		{"cac1.pure.cloud", "ca-central-1", "Americas (Canada)"},
		{"mxc1.pure.cloud", "mx-central-1", "Americas (Mexico)"},
		{"sae1.pure.cloud", "sa-east-1", "Americas (São Paulo)"},
		{"mypurecloud.ie", "eu-west-1", "EMEA (Dublin)"},
		{"euw2.pure.cloud", "eu-west-2", "EMEA (London)"},
		{"mypurecloud.de", "eu-central-1", "EMEA (Frankfurt)"},
		{"euc2.pure.cloud", "eu-central-2", "EMEA (Zurich)"},
		{"mec1.pure.cloud", "me-central-1", "Middle East (UAE)"},
		{"aps1.pure.cloud", "ap-south-1", "Asia Pacific (Mumbai)"},
		{"mypurecloud.jp", "ap-northeast-1", "Asia Pacific (Tokyo)"},
		{"apne2.pure.cloud", "ap-northeast-2", "Asia Pacific (Seoul)"},
		{"apne3.pure.cloud", "ap-northeast-3", "Asia Pacific (Osaka)"},
		{"mypurecloud.com.au", "ap-southeast-2", "Asia Pacific (Sydney)"},
	}
}

// LookupRegion finds a region by its domain ("usw2.pure.cloud") or AWS name
// ("us-west-2"), ignoring case, surrounding space, a trailing dot and an
// "api."/"login." prefix. The error lists the valid values.
func LookupRegion(name string) (Region, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimSuffix(n, ".")
	n = strings.TrimPrefix(strings.TrimPrefix(n, "api."), "login.")
	regions := Regions()
	for _, r := range regions {
		if n == r.Domain || n == r.AWS {
			return r, nil
		}
	}
	valid := make([]string, len(regions))
	for i, r := range regions {
		valid[i] = r.Domain
	}
	return Region{}, fmt.Errorf("genesys: unknown region %q: valid regions are %s (or their AWS names, e.g. us-west-2)",
		name, strings.Join(valid, ", "))
}

// LoginURL is the OAuth host of the region, e.g. https://login.mypurecloud.com.
func (r Region) LoginURL() string { return "https://login." + r.Domain }

// APIURL is the Platform API host of the region, e.g. https://api.mypurecloud.com.
func (r Region) APIURL() string { return "https://api." + r.Domain }
