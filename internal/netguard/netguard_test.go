package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/netguard"
)

func TestCheckIPForbidden(t *testing.T) {
	tests := []struct {
		ip   string
		want string // substring of the error
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.255", "loopback"},
		{"::1", "loopback"},
		{"0.0.0.0", "unspecified"},
		{"0.255.255.255", "unspecified"},
		{"::", "unspecified"},
		{"10.0.0.0", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.0", "private"},
		{"172.31.255.255", "private"},
		{"192.168.0.0", "private"},
		{"192.168.255.255", "private"},
		{"fc00::1", "private"},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"},
		{"fd00:ec2::254", "cloud metadata"},
		{"169.254.0.0", "link-local"},
		{"169.254.255.255", "link-local"},
		{"169.254.169.254", "cloud metadata"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
		{"fec0::1", "site-local"},
		{"100.64.0.0", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"100.100.100.200", "CGNAT"},
		{"224.0.0.0", "multicast"},
		{"239.255.255.255", "multicast"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.0", "reserved"},
		{"255.255.255.254", "reserved"},
		{"198.18.0.0", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"2001:2::1", "IETF protocol assignment"},
		{"192.0.0.0", "IETF protocol assignment"},
		{"192.0.0.255", "IETF protocol assignment"},
		{"2001::1", "Teredo address embedding 0.0.0.0, an unspecified"},
		{"2001:1::1", "IETF protocol assignment"},
		{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "IETF protocol assignment"},
		{"192.0.2.0", "documentation"},
		{"192.0.2.255", "documentation"},
		{"198.51.100.0", "documentation"},
		{"198.51.100.255", "documentation"},
		{"203.0.113.0", "documentation"},
		{"203.0.113.255", "documentation"},
		{"2001:db8::", "documentation"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
		{"3fff::1", "documentation"},
		{"64:ff9b::7f00:1", "NAT64 address embedding 127.0.0.1, a loopback"},
		{"64:ff9b::a9fe:a9fe", "NAT64 address embedding 169.254.169.254, a cloud metadata"},
		{"64:ff9b::a00:1", "NAT64 address embedding 10.0.0.1, a private"},
		{"2002:7f00:1::1", "6to4 address embedding 127.0.0.1, a loopback"},
		{"2002:c0a8:101::", "6to4 address embedding 192.168.1.1, a private"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:0.0.0.0", "unspecified"},
		// Every IPv6 form that embeds an IPv4 address is judged by it.
		{"::127.0.0.1", "IPv4-compatible address embedding 127.0.0.1, a loopback"},
		{"::7f00:1", "IPv4-compatible address embedding 127.0.0.1, a loopback"},
		{"::10.1.2.3", "IPv4-compatible address embedding 10.1.2.3, a private"},
		{"::169.254.169.254", "IPv4-compatible address embedding 169.254.169.254, a cloud metadata"},
		{"::0.0.0.2", "IPv4-compatible address embedding 0.0.0.2, an unspecified"},
		{"::ffff:7f00:1", "loopback"},
		{"::ffff:192.168.1.1", "private"},
		{"64:ff9b::127.0.0.1", "NAT64 address embedding 127.0.0.1, a loopback"},
		{"64:ff9b::100.64.0.1", "NAT64 address embedding 100.64.0.1, a CGNAT"},
		{"64:ff9b:1::7f00:1", "local-use NAT64 address embedding 127.0.0.1, a loopback"},
		{"64:ff9b:1::a00:1", "local-use NAT64 address embedding 10.0.0.1, a private"},
		{"64:ff9b:1::808:808", "a local-use NAT64 address"},
		{"64:ff9b:1:7f00:1::", "a local-use NAT64 address"},
		{"2002:a9fe:a9fe::", "6to4 address embedding 169.254.169.254, a cloud metadata"},
		{"2002:a00:1:ffff::1", "6to4 address embedding 10.0.0.1, a private"},
		{"2002:e000:1::", "6to4 address embedding 224.0.0.1, a multicast"},
		// Teredo: the server's address, then the client's with every bit
		// inverted (80ff:fffe is 127.0.0.1).
		{"2001:0:7f00:1::1", "Teredo address embedding 127.0.0.1, a loopback"},
		{"2001:0:808:808::80ff:fffe", "Teredo address embedding 127.0.0.1, a loopback"},
		{"2001:0:808:808::f5ff:fffe", "Teredo address embedding 10.0.0.1, a private"},
		// Teredo with public addresses stays inside 2001::/23.
		{"2001:0:808:808::f7f7:f7f7", "IETF protocol assignment"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.ip)
			err := netguard.Policy{}.CheckIP(ip)
			if !errors.Is(err, netguard.ErrForbiddenAddress) {
				t.Fatalf("CheckIP(%s) = %v, want ErrForbiddenAddress", tt.ip, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckIP(%s) = %q, want it to mention %q", tt.ip, err, tt.want)
			}
			if err := (netguard.Policy{AllowPrivate: true}).CheckIP(ip); err != nil {
				t.Errorf("AllowPrivate CheckIP(%s) = %v, want nil", tt.ip, err)
			}
		})
	}
}

func TestCheckIPAllowed(t *testing.T) {
	for _, s := range []string{
		// Public.
		"8.8.8.8",
		"1.1.1.1",
		"2606:4700:4700::1111",
		"::ffff:8.8.8.8",
		"64:ff9b::808:808",
		"2002:808:808::1",
		"::8.8.8.8",
		"::1.1.1.1",
		// Just outside the forbidden ranges.
		"1.0.0.0",
		"9.255.255.255",
		"11.0.0.0",
		"100.63.255.255",
		"100.128.0.0",
		"126.255.255.255",
		"128.0.0.0",
		"169.253.255.255",
		"169.255.0.0",
		"172.15.255.255",
		"172.32.0.0",
		"191.255.255.255",
		"192.0.1.0",
		"192.0.1.255",
		"192.0.3.0",
		"192.167.255.255",
		"192.169.0.0",
		"198.17.255.255",
		"198.20.0.0",
		"198.51.99.255",
		"198.51.101.0",
		"203.0.112.255",
		"203.0.114.0",
		"223.255.255.255",
		"2001:200::1",
		"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
		"2001:db9::",
		"3fff:1000::",
		"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	} {
		if err := (netguard.Policy{}).CheckIP(netip.MustParseAddr(s)); err != nil {
			t.Errorf("CheckIP(%s) = %v, want nil", s, err)
		}
	}
}

func TestCheckIPInvalid(t *testing.T) {
	err := netguard.Policy{}.CheckIP(netip.Addr{})
	if !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Errorf("CheckIP(zero Addr) = %v, want ErrForbiddenAddress", err)
	}
}

// fakeResolver answers from a map; unknown hosts fail like NXDOMAIN.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	addrs := make([]netip.Addr, len(ss))
	for i, s := range ss {
		addrs[i] = netip.MustParseAddr(s)
	}
	return addrs, nil
}

func TestCheckURL(t *testing.T) {
	resolver := fakeResolver{
		"example.com":       {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"internal.corp.com": {"10.0.0.5"},
		"mixed.example.com": {"8.8.8.8", "192.168.1.10"},
		"mapped.example":    {"::ffff:127.0.0.1"},
		"compat.example":    {"::10.0.0.1"},
		"meta.example.com":  {"169.254.169.254"},
		"v6.example.com":    {"fd12::1"},
	}
	strict := netguard.Policy{Resolver: resolver}
	dev := netguard.Policy{AllowPrivate: true, Resolver: resolver}
	const prefix = "https://example.com/"

	tests := []struct {
		name   string
		policy netguard.Policy
		url    string
		want   string // exact error message; "" means accepted
	}{
		{"public host", strict, "https://example.com/hooks?x=1", ""},
		{"public IPv4", strict, "https://8.8.8.8/hook", ""},
		{"public IPv6", strict, "https://[2606:4700:4700::1111]/hook", ""},
		{"public IPv6 with port", strict, "https://[2606:4700:4700::1111]:8443/hook", ""},
		{"public IPv4-mapped", strict, "https://[::ffff:8.8.8.8]/hook", ""},
		{"public IPv4-compatible", strict, "https://[::8.8.8.8]/hook", ""},
		{"IPv4-compatible loopback", strict, "https://[::127.0.0.1]/", "url host ::127.0.0.1 is an IPv4-compatible address embedding 127.0.0.1, a loopback address"},
		{"IPv4-compatible metadata", strict, "https://[::a9fe:a9fe]/", "url host ::a9fe:a9fe is an IPv4-compatible address embedding 169.254.169.254, a cloud metadata address"},
		{"resolves IPv4-compatible", strict, "https://compat.example/", "url host resolves to ::a00:1, an IPv4-compatible address embedding 10.0.0.1, a private address"},
		{"Teredo client loopback", strict, "https://[2001:0:808:808::80ff:fffe]/", "url host 2001:0:808:808::80ff:fffe is a Teredo address embedding 127.0.0.1, a loopback address"},
		{"uppercase scheme", strict, "HTTPS://example.com/", ""},
		{"resolver error accepted", strict, "https://nxdomain.example.org/", ""},
		{"max port", strict, "https://example.com:65535/", ""},
		{"exactly max length", strict, prefix + strings.Repeat("a", 2048-len(prefix)), ""},

		{"http strict", strict, "http://example.com/", "url must use https"},
		{"ftp strict", strict, "ftp://example.com/", "url must use https"},
		{"ftp dev", dev, "ftp://example.com/", "url must use http or https"},
		{"relative", strict, "/hooks", "url must be an absolute https URL with a host"},
		{"empty", strict, "", "url must be an absolute https URL with a host"},
		{"no host", strict, "https:///hooks", "url must be an absolute https URL with a host"},
		{"port only", strict, "https://:443/", "url must be an absolute https URL with a host"},
		{"opaque", strict, "https:example.com", "url must be an absolute https URL with a host"},
		{"unparseable", strict, "https://[::1/", "url is not a valid URL"},
		{"non-numeric port", strict, "https://example.com:abc/", "url is not a valid URL"},
		{"credentials", strict, "https://user:pass@example.com/", "url must not contain credentials"},
		{"username only", strict, "https://user@example.com/", "url must not contain credentials"},
		{"credentials dev", dev, "http://user:pass@localhost/", "url must not contain credentials"},
		{"fragment", strict, "https://example.com/#frag", "url must not have a fragment"},
		{"empty fragment", strict, "https://example.com/#", "url must not have a fragment"},
		{"fragment dev", dev, "http://localhost/#x", "url must not have a fragment"},
		{"too long", strict, prefix + strings.Repeat("a", 2049-len(prefix)), "url is longer than 2048 characters"},
		{"too long dev", dev, prefix + strings.Repeat("a", 2049-len(prefix)), "url is longer than 2048 characters"},
		{"port zero", strict, "https://example.com:0/", "url port must be between 1 and 65535"},
		{"port too big", strict, "https://example.com:65536/", "url port must be between 1 and 65535"},
		{"port way too big", dev, "http://localhost:99999999999999999999/", "url port must be between 1 and 65535"},

		{"loopback literal", strict, "https://127.0.0.1/", "url host 127.0.0.1 is a loopback address"},
		{"loopback IPv6", strict, "https://[::1]:8443/", "url host ::1 is a loopback address"},
		{"mapped loopback", strict, "https://[::ffff:127.0.0.1]/", "url host ::ffff:127.0.0.1 is a loopback address"},
		{"mapped hex", strict, "https://[::ffff:7f00:1]/", "url host ::ffff:7f00:1 is a loopback address"},
		{"private literal", strict, "https://10.1.2.3/", "url host 10.1.2.3 is a private address"},
		{"metadata literal", strict, "https://169.254.169.254/latest/meta-data/", "url host 169.254.169.254 is a cloud metadata address"},
		{"AWS IPv6 metadata", strict, "https://[fd00:ec2::254]/", "url host fd00:ec2::254 is a cloud metadata address"},
		{"zoned link-local", strict, "https://[fe80::1%25eth0]/", "url host fe80::1%eth0 is a link-local address"},
		{"unspecified", strict, "https://0.0.0.0:8080/", "url host 0.0.0.0 is an unspecified address"},
		{"NAT64 loopback", strict, "https://[64:ff9b::127.0.0.1]/", "url host 64:ff9b::127.0.0.1 is a NAT64 address embedding 127.0.0.1, a loopback address"},

		{"localhost", strict, "https://localhost/", "url host localhost is a reserved local name"},
		{"localhost upper", strict, "https://LOCALHOST:8443/", "url host LOCALHOST is a reserved local name"},
		{"localhost dot", strict, "https://localhost./", "url host localhost. is a reserved local name"},
		{"sub.localhost", strict, "https://api.localhost/", "url host api.localhost is a reserved local name"},
		{".local", strict, "https://printer.local/", "url host printer.local is a reserved local name"},
		{".internal", strict, "https://db.internal/", "url host db.internal is a reserved local name"},
		{"GCP metadata", strict, "https://metadata.google.internal/computeMetadata/v1/", "url host metadata.google.internal is a reserved local name"},
		{".localdomain", strict, "https://host.localdomain/", "url host host.localdomain is a reserved local name"},
		{"not a suffix match", strict, "https://notlocalhost.com/", ""},
		{"decimal IPv4", strict, "https://2130706433/", "url host 2130706433 is not a valid hostname or IP address"},
		{"hex IPv4", strict, "https://0x7f000001/", "url host 0x7f000001 is not a valid hostname or IP address"},
		{"short IPv4", strict, "https://127.1/", "url host 127.1 is not a valid hostname or IP address"},
		{"IPv4 trailing dot", strict, "https://127.0.0.1./", "url host 127.0.0.1. is not a valid hostname or IP address"},

		{"resolves private", strict, "https://internal.corp.com/", "url host resolves to 10.0.0.5, a private address"},
		{"resolves mixed", strict, "https://mixed.example.com/", "url host resolves to 192.168.1.10, a private address"},
		{"resolves mapped", strict, "https://mapped.example/", "url host resolves to ::ffff:127.0.0.1, a loopback address"},
		{"resolves metadata", strict, "https://meta.example.com/", "url host resolves to 169.254.169.254, a cloud metadata address"},
		{"resolves ULA", strict, "https://v6.example.com/", "url host resolves to fd12::1, a private address"},

		{"dev http localhost", dev, "http://localhost:8080/hook", ""},
		{"dev https loopback", dev, "https://127.0.0.1:8443/hook", ""},
		{"dev private name", dev, "http://internal.corp.com/", ""},
		{"dev metadata", dev, "http://169.254.169.254/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.CheckURL(context.Background(), tt.url)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckURL(%q) = %q, want nil", tt.url, err)
			case tt.want != "" && err == nil:
				t.Errorf("CheckURL(%q) = nil, want %q", tt.url, tt.want)
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("CheckURL(%q) = %q, want %q", tt.url, err, tt.want)
			}
		})
	}
}

// TestCheckURLErrorsHideURL guards against leaking secrets in paths and
// queries through error messages shown to API clients.
func TestCheckURLErrorsHideURL(t *testing.T) {
	for _, raw := range []string{
		"https://[::1/secret-token",
		"https://example.com:abc/secret-token",
		"http://example.com/secret-token",
		"https://127.0.0.1/secret-token",
	} {
		err := netguard.Policy{Resolver: fakeResolver{}}.CheckURL(context.Background(), raw)
		if err == nil || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("CheckURL(%q) = %v, want an error without the path", raw, err)
		}
	}
}

type deadlineResolver struct{ deadline *time.Time }

func (r deadlineResolver) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	*r.deadline, _ = ctx.Deadline()
	return nil, errors.New("timeout")
}

func TestCheckURLResolveDeadline(t *testing.T) {
	var got time.Time
	p := netguard.Policy{Resolver: deadlineResolver{&got}}

	start := time.Now()
	if err := p.CheckURL(context.Background(), "https://example.com/"); err != nil {
		t.Fatal(err)
	}
	if got.Before(start.Add(2*time.Second)) || got.After(time.Now().Add(2*time.Second)) {
		t.Errorf("resolver deadline = %v after start, want 2s", got.Sub(start))
	}

	want := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	if err := p.CheckURL(ctx, "https://example.com/"); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Errorf("resolver deadline = %v, want the caller's %v", got, want)
	}
}

func TestCheckURLDefaultResolver(t *testing.T) {
	// .invalid never resolves (RFC 6761), so this passes with or without a
	// network while exercising net.DefaultResolver.
	if err := (netguard.Policy{}).CheckURL(context.Background(), "https://hooks.invalid/"); err != nil {
		t.Errorf("CheckURL = %v, want nil", err)
	}
}

func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestDialContext(t *testing.T) {
	addr := listen(t)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	dialer := &net.Dialer{}
	strict := netguard.Policy{}.DialContext(dialer)
	if dialer.ControlContext != nil {
		t.Error("DialContext modified the caller's dialer")
	}
	// The embedded forms are refused at connect time too, before a packet
	// leaves for a translator.
	for _, target := range []string{addr, net.JoinHostPort("localhost", port),
		net.JoinHostPort("::127.0.0.1", port), net.JoinHostPort("64:ff9b::7f00:1", port), net.JoinHostPort("2002:7f00:1::", port)} {
		conn, err := strict(ctx, "tcp", target)
		if err == nil {
			conn.Close()
			t.Fatalf("strict dial %s succeeded, want refusal", target)
		}
		if !errors.Is(err, netguard.ErrForbiddenAddress) {
			t.Errorf("strict dial %s = %v, want ErrForbiddenAddress", target, err)
		}
	}

	dev := netguard.Policy{AllowPrivate: true}
	for _, dialer := range []*net.Dialer{{}, nil} {
		conn, err := dev.DialContext(dialer)(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("AllowPrivate dial %s: %v", addr, err)
		}
		conn.Close()
	}
}

func TestDialContextChainsControl(t *testing.T) {
	errControl := errors.New("caller's control ran")
	control := func(string, string, syscall.RawConn) error { return errControl }
	controlContext := func(context.Context, string, string, syscall.RawConn) error { return errControl }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for name, dialer := range map[string]*net.Dialer{
		"Control":        {Control: control},
		"ControlContext": {ControlContext: controlContext},
	} {
		t.Run(name, func(t *testing.T) {
			dial := netguard.Policy{}.DialContext(dialer)

			// The caller's hook runs after an allowed address passes; it
			// fails before connect, so no packet leaves the machine.
			if _, err := dial(ctx, "tcp", "8.8.8.8:53"); !errors.Is(err, errControl) {
				t.Errorf("dial public = %v, want the caller's control error", err)
			}
			// A forbidden address is refused before the caller's hook.
			if _, err := dial(ctx, "tcp", listen(t)); !errors.Is(err, netguard.ErrForbiddenAddress) {
				t.Errorf("dial loopback = %v, want ErrForbiddenAddress", err)
			}
		})
	}
}
