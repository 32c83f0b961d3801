package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// MaxURLLength is the longest endpoint URL accepted.
const MaxURLLength = 2048

// ErrInvalidURL is matched (errors.Is) by every error ValidateURL returns
// and is the Kind of a Result.Err for a URL Send refuses. The errors' text
// is a sentence for the endpoint's owner, e.g. "url must use https".
var ErrInvalidURL = errors.New("invalid url")

type urlError string

func (e urlError) Error() string        { return string(e) }
func (e urlError) Is(target error) bool { return target == ErrInvalidURL }

const errPrivateURL = urlError("url must not point to a loopback, private, link-local or reserved address")

// ValidateURL checks an endpoint URL when it is created or changed: an
// absolute https URL (http too when allowPrivate) with a host, no user
// name or password, at most MaxURLLength characters. Unless allowPrivate,
// a host that is an IP address must be one a delivery may reach (the
// rules Send applies at dial time), and localhost names are refused; other
// names are checked at delivery time, on the addresses they resolve to
// then, since DNS answers change.
func ValidateURL(raw string, allowPrivate bool) error {
	u, err := checkURL(raw, allowPrivate)
	if err != nil {
		return err
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return urlError("url must have a host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !allowPrivate && !addrAllowed(ip) {
			return errPrivateURL
		}
		return nil
	}
	// A last label of digits (or 0x…) is not a DNS name but may be read as
	// an IPv4 address by some resolvers: http://2130706433/ is 127.0.0.1.
	if i := strings.LastIndexByte(host, '.'); host[i+1] >= '0' && host[i+1] <= '9' {
		return urlError("url host is neither a host name nor an IP address")
	}
	if !allowPrivate && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return errPrivateURL
	}
	return nil
}

// checkURL is what Send checks too: the URL's shape, not its host's
// address (the dialer checks that, on the resolved address).
func checkURL(raw string, allowPrivate bool) (*url.URL, error) {
	if len(raw) > MaxURLLength {
		return nil, urlError("url must be at most " + strconv.Itoa(MaxURLLength) + " characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, urlError("url must be an absolute URL such as https://example.com/webhooks")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return nil, urlError("url must use https")
	}
	if u.User != nil {
		return nil, urlError("url must not contain a user name or password")
	}
	if u.Hostname() == "" {
		return nil, urlError("url must have a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, urlError("url port must be 1 to 65535")
		}
	}
	return u, nil
}

// errAddressNotAllowed is what the dialer's Control returns; Send reports
// it as ErrAddressNotAllowed. It never carries the address: the owner of a
// public endpoint must not learn what our internal names resolve to.
var errAddressNotAllowed = errors.New("webhook: destination address not allowed")

// dialControl refuses to connect to an address deliveries must not reach.
// It runs on every address the dialer tries, after name resolution, so a
// name that resolves (or is rebound) to an internal address is caught.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !addrAllowed(ap.Addr()) {
		return errAddressNotAllowed
	}
	return nil
}

// blocked are ranges the netip predicates in addrAllowed do not cover.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network": 0.0.0.0 reaches the local host
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (SIIT)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo: tunnels to an IPv4 address
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // the last 4 bytes are an IPv4 address
	sixToFour = netip.MustParsePrefix("2002::/16")    // bytes 2..5 are an IPv4 address
)

// addrAllowed reports whether a delivery may connect to ip: not loopback,
// private (RFC 1918, fc00::/7), link-local (169.254/16 with the cloud
// metadata address, fe80::/10), unspecified, multicast, carrier-grade NAT
// or reserved, in IPv4 or any IPv6 form that embeds an IPv4 address.
func addrAllowed(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return addrAllowed(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return addrAllowed(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}
