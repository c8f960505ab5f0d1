// Package netguard keeps outbound webhook traffic away from the server's own
// network: only https URLs, and never loopback, private, link-local, CGNAT,
// unspecified, multicast, documentation/benchmark or cloud-metadata
// addresses, checked when a URL is registered and again when each connection
// is made (a hostname may resolve anywhere later).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is wrapped by every error that refuses a destination
// address.
var ErrForbiddenAddress = errors.New("destination address is not allowed")

// Resolver is what CheckURL resolves hostnames with; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy decides which destinations are allowed. The zero value is the strict
// production policy. AllowPrivate (ZEST_WEBHOOK_ALLOW_PRIVATE=true, for
// development and tests) lifts both the https rule and the address rule.
type Policy struct {
	AllowPrivate bool
	// Resolver resolves hostnames in CheckURL; nil means net.DefaultResolver.
	Resolver Resolver
}

const (
	maxURLLength = 2048
	// resolveTimeout bounds registration-time lookups so a slow DNS server
	// cannot stall the API request; a lookup that fails is accepted anyway.
	resolveTimeout = 2 * time.Second
)

// CheckURL validates a webhook URL at registration. The error message is safe
// to show to the API client: it quotes at most the URL's scheme or host, or an
// address the host resolved to.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	if len(raw) > maxURLLength {
		return fmt.Errorf("url is longer than %d characters", maxURLLength)
	}
	// url.Parse errors echo the whole URL, which may hold secrets.
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("url is not a valid URL")
	}
	if !u.IsAbs() || u.Hostname() == "" {
		return errors.New("url must be an absolute https URL with a host")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowPrivate:
	case p.AllowPrivate:
		return errors.New("url must use http or https")
	default:
		return errors.New("url must use https")
	}
	if u.User != nil {
		return errors.New("url must not contain credentials")
	}
	// Checked on the raw string because "https://host/#" parses to an empty
	// Fragment.
	if strings.Contains(raw, "#") {
		return errors.New("url must not have a fragment")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("url port must be between 1 and 65535")
		}
	}
	if p.AllowPrivate {
		return nil
	}
	return p.checkHost(ctx, u.Hostname())
}

func (p Policy) checkHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if kind := classify(ip); kind != "" {
			return fmt.Errorf("url host %s is %s", host, kind)
		}
		return nil
	}

	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if isLocalName(name) {
		return fmt.Errorf("url host %s is a reserved local name", host)
	}
	if endsInNumber(name) {
		return fmt.Errorf("url host %s is not a valid hostname or IP address", host)
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, resolveTimeout)
		defer cancel()
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		// Registration must not depend on DNS being reachable; DialContext
		// checks the address again on every delivery.
		return nil
	}
	for _, ip := range addrs {
		if kind := classify(ip); kind != "" {
			return fmt.Errorf("url host resolves to %s, %s", ip, kind)
		}
	}
	return nil
}

// localNames are names that resolve to the local machine or network by
// convention; "metadata.google.internal" is covered by "internal".
var localNames = []string{"localhost", "local", "internal", "localdomain"}

func isLocalName(name string) bool {
	for _, s := range localNames {
		if name == s || strings.HasSuffix(name, "."+s) {
			return true
		}
	}
	return false
}

// endsInNumber reports whether the last label is numeric. Browsers and some
// HTTP clients read such hosts as IPv4 in shorthand forms ("127.1",
// "2130706433", "0x7f000001") that netip rejects, so they could hide a
// loopback or private address from the literal check.
func endsInNumber(name string) bool {
	label := name[strings.LastIndex(name, ".")+1:]
	if strings.HasPrefix(label, "0x") {
		return true
	}
	return label != "" && strings.Trim(label, "0123456789") == ""
}

// CheckIP reports why ip may not be contacted, or nil. The error wraps
// ErrForbiddenAddress. With AllowPrivate, CheckIP always returns nil.
func (p Policy) CheckIP(ip netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	if kind := classify(ip); kind != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ip, kind)
	}
	return nil
}

// DialContext returns a dial function for http.Transport.DialContext that
// refuses connections to forbidden addresses. The check runs in the dialer's
// ControlContext, on the resolved address of every connection attempt, so
// redirects and DNS answers that change after registration are covered; any
// Control or ControlContext already set on dialer still runs afterwards.
// dialer is not modified; nil means a zero net.Dialer.
//
// The transport must not use a proxy (set http.Transport.Proxy to nil):
// through a proxy, only the proxy's address would be checked.
func (p Policy) DialContext(dialer *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{}
	if dialer != nil {
		d = *dialer
	}
	if p.AllowPrivate {
		return d.DialContext
	}

	next := d.ControlContext
	if next == nil && d.Control != nil {
		control := d.Control
		next = func(_ context.Context, network, address string, c syscall.RawConn) error {
			return control(network, address, c)
		}
	}
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse %q", ErrForbiddenAddress, address)
		}
		if err := p.CheckIP(ap.Addr()); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, network, address, c)
		}
		return nil
	}
	return d.DialContext
}

type addrRange struct {
	prefix netip.Prefix
	kind   string
}

// forbidden is searched in order, so narrower ranges come first to give the
// more precise description.
var forbidden = []addrRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a CGNAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.169.254/32"), "a cloud metadata address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "a broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},

	// IPv6 counterpart of 192.0.0.0/24; includes Teredo and the
	// benchmarking range 2001:2::/48.
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	// Not globally reachable (RFC 8215), and each network places the IPv4
	// address inside it where it likes (RFC 6052 allows prefix lengths 48
	// to 96), so what it embeds cannot be read with certainty.
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata address"},
	{netip.MustParsePrefix("fc00::/7"), "a private address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	// Deprecated site-local range, still private wherever it is used.
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// embedding is an IPv6 range whose addresses carry an IPv4 address that
// some translator, tunnel or dual stack forwards to: such a destination is
// judged by the IPv4 addresses it embeds. IPv4-mapped addresses are the
// IPv4 address itself, and classify unmaps them first.
type embedding struct {
	prefix netip.Prefix
	scheme string // with its article
	ipv4   func(b [16]byte) []netip.Addr
}

func v4(b ...byte) netip.Addr { return netip.AddrFrom4([4]byte(b)) }

var embeddings = []embedding{
	// Deprecated (RFC 4291), but dual stacks still route "::a.b.c.d" to
	// a.b.c.d.
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible", func(b [16]byte) []netip.Addr {
		return []netip.Addr{v4(b[12:16]...)}
	}},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64", func(b [16]byte) []netip.Addr {
		return []netip.Addr{v4(b[12:16]...)}
	}},
	// Read as the usual /96 translation prefix; the range is refused
	// whatever it embeds (see forbidden).
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64", func(b [16]byte) []netip.Addr {
		return []netip.Addr{v4(b[12:16]...)}
	}},
	{netip.MustParsePrefix("2002::/16"), "a 6to4", func(b [16]byte) []netip.Addr {
		return []netip.Addr{v4(b[2:6]...)}
	}},
	// Teredo (RFC 4380) carries its server's address, and its client's with
	// every bit inverted.
	{netip.MustParsePrefix("2001::/32"), "a Teredo", func(b [16]byte) []netip.Addr {
		return []netip.Addr{v4(b[4:8]...), v4(^b[12], ^b[13], ^b[14], ^b[15])}
	}},
}

// classify describes why ip is forbidden, with an article ("a private
// address"), or returns "" if ip is a public unicast address.
func classify(ip netip.Addr) string {
	// Prefix.Contains never matches a zoned address.
	ip = ip.WithZone("")
	switch {
	case !ip.IsValid():
		return "an invalid address"
	// Inside ::/96, but not IPv4-compatible addresses (RFC 4291).
	case ip == netip.IPv6Unspecified():
		return "an unspecified address"
	case ip == netip.IPv6Loopback():
		return "a loopback address"
	case ip.Is4In6():
		// An IPv4-mapped address is how dual stacks write the IPv4 address
		// itself: it reaches that host, and is judged as it.
		return classify(ip.Unmap())
	}
	if ip.Is6() {
		b := ip.As16()
		for _, e := range embeddings {
			if !e.prefix.Contains(ip) {
				continue
			}
			for _, v4 := range e.ipv4(b) {
				if kind := classify(v4); kind != "" {
					return fmt.Sprintf("%s address embedding %s, %s", e.scheme, v4, kind)
				}
			}
			// A public embedded address is judged by the IPv6 rules too:
			// Teredo stays inside the refused 2001::/23.
			break
		}
	}
	for _, r := range forbidden {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	return ""
}
