package webhook

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestAddrAllowed(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"93.184.216.34", true},
		{"2606:4700:4700::1111", true},
		{"192.0.2.1", true}, // documentation range: unroutable, harmless
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		{"::ffff:8.8.8.8", true},

		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"169.254.0.1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"ff05::1", false},
		{"ff0e::1", false},
		{"100.64.0.1", false}, // carrier-grade NAT
		{"100.127.255.255", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"198.18.0.1", false},
		{"192.0.0.1", false},
		{"::ffff:127.0.0.1", false}, // IPv4-mapped
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:100.64.0.1", false},
		{"::ffff:0.0.0.0", false},
		{"::127.0.0.1", false},         // IPv4-compatible
		{"::ffff:0:127.0.0.1", false},  // IPv4-translated
		{"64:ff9b::7f00:1", false},     // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false},  // NAT64 of 169.254.169.254
		{"64:ff9b:1::8.8.8.8", false},  // local-use NAT64
		{"2002:7f00:1::1", false},      // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::1", false},   // 6to4 of 169.254.169.254
		{"2001:0:4136:e378::1", false}, // Teredo
		{"fec0::1", false},
		{"100::1", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if got := addrAllowed(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDialControl(t *testing.T) {
	for _, tc := range []struct {
		address string
		want    error
	}{
		{"8.8.8.8:443", nil},
		{"[2606:4700:4700::1111]:443", nil},
		{"127.0.0.1:443", errAddressNotAllowed},
		{"[::ffff:127.0.0.1]:80", errAddressNotAllowed},
		{"[fe80::1%eth0]:80", errAddressNotAllowed},
		{"not-an-address", errAddressNotAllowed},
	} {
		t.Run(tc.address, func(t *testing.T) {
			if got := dialControl("tcp", tc.address, nil); !errors.Is(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		name         string
		url          string
		allowPrivate bool
		wantErr      string // "" means valid
	}{
		{name: "OK", url: "https://example.com/webhooks"},
		{name: "OKPortAndQuery", url: "https://hooks.example.com:8443/in?source=wildcat"},
		{name: "OKPublicIP", url: "https://93.184.216.34/hook"},
		{name: "OKPublicIPv6", url: "https://[2606:4700:4700::1111]/hook"},
		{name: "OKUppercaseScheme", url: "HTTPS://example.com/"},
		{name: "OKTrailingDot", url: "https://example.com./"},
		{name: "OKLongest", url: "https://example.com/" + strings.Repeat("a", MaxURLLength-len("https://example.com/"))},
		{name: "ErrTooLong", url: "https://example.com/" + strings.Repeat("a", MaxURLLength), wantErr: "at most 2048"},
		{name: "ErrHTTP", url: "http://example.com/", wantErr: "must use https"},
		{name: "ErrOtherScheme", url: "ftp://example.com/", wantErr: "must use https"},
		{name: "ErrFileScheme", url: "file:///etc/passwd", wantErr: "must use https"},
		{name: "ErrRelative", url: "/webhooks", wantErr: "absolute URL"},
		{name: "ErrNoScheme", url: "example.com/webhooks", wantErr: "absolute URL"},
		{name: "ErrOpaque", url: "https:example.com", wantErr: "absolute URL"},
		{name: "ErrNotAURL", url: "https://exa mple.com/%zz", wantErr: "absolute URL"},
		{name: "ErrEmpty", url: "", wantErr: "absolute URL"},
		{name: "ErrNoHost", url: "https:///webhooks", wantErr: "must have a host"},
		{name: "ErrOnlyPort", url: "https://:443/webhooks", wantErr: "must have a host"},
		{name: "ErrDotHost", url: "https://./", wantErr: "must have a host"},
		{name: "ErrUserinfo", url: "https://user:pass@example.com/", wantErr: "user name or password"},
		{name: "ErrUser", url: "https://user@example.com/", wantErr: "user name or password"},
		{name: "ErrPortZero", url: "https://example.com:0/", wantErr: "port"},
		{name: "ErrPortTooBig", url: "https://example.com:70000/", wantErr: "port"},
		{name: "ErrLoopback", url: "https://127.0.0.1/", wantErr: "loopback"},
		{name: "ErrLoopbackV6", url: "https://[::1]:8080/", wantErr: "loopback"},
		{name: "ErrMappedLoopback", url: "https://[::ffff:127.0.0.1]/", wantErr: "loopback"},
		{name: "ErrPrivate", url: "https://10.1.2.3/", wantErr: "private"},
		{name: "ErrMetadata", url: "https://169.254.169.254/latest/meta-data/", wantErr: "link-local"},
		{name: "ErrLinkLocalV6Zone", url: "https://[fe80::1%25eth0]/", wantErr: "link-local"},
		{name: "ErrCGNAT", url: "https://100.64.0.1/", wantErr: "reserved"},
		{name: "ErrUnspecified", url: "https://0.0.0.0/", wantErr: "reserved"},
		{name: "ErrLocalhost", url: "https://localhost:8080/", wantErr: "loopback"},
		{name: "ErrLocalhostUppercaseDot", url: "https://LOCALHOST./", wantErr: "loopback"},
		{name: "ErrSubdomainOfLocalhost", url: "https://api.localhost/", wantErr: "loopback"},
		{name: "ErrDecimalIP", url: "https://2130706433/", wantErr: "neither a host name nor an IP"},
		{name: "ErrShortIP", url: "https://127.1/", wantErr: "neither a host name nor an IP"},
		{name: "ErrHexIP", url: "https://0x7f.0x1/", wantErr: "neither a host name nor an IP"},
		{name: "OKPrivateHTTPWhenAllowed", url: "http://127.0.0.1:8095/hooks/a", allowPrivate: true},
		{name: "OKLocalhostWhenAllowed", url: "http://localhost:8095/hooks/a", allowPrivate: true},
		{name: "OKMetadataWhenAllowed", url: "https://169.254.169.254/", allowPrivate: true},
		{name: "ErrUserinfoWhenAllowed", url: "http://u:p@127.0.0.1/", allowPrivate: true, wantErr: "user name"},
		{name: "ErrOtherSchemeWhenAllowed", url: "ftp://127.0.0.1/", allowPrivate: true, wantErr: "must use https"},
		{name: "ErrDecimalIPWhenAllowed", url: "http://2130706433/", allowPrivate: true, wantErr: "neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateURL(tc.url, tc.allowPrivate)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("got %v, want it to match ErrInvalidURL", err)
			}
			if !strings.HasPrefix(err.Error(), "url ") {
				t.Errorf("got %q, want a sentence about the url for the API user", err)
			}
		})
	}
}
