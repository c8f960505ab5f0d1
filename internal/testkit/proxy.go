package testkit

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy in front of a database, for fault tests: it can
// freeze (stop forwarding, as a hung or SIGSTOPped server does) and cut
// every connection (as a server stopped abruptly does), without touching the
// server that other tests share.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	frozen  bool
	thawed  chan struct{} // closed when the proxy thaws
	down    bool          // new connections are closed at once
	conns   map[net.Conn]struct{}
	pending chan struct{} // signalled when a frozen proxy holds back bytes
}

// NewProxy listens on a loopback port and forwards to target (host:port).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, thawed: make(chan struct{}), conns: map[net.Conn]struct{}{}, pending: make(chan struct{}, 1)}
	close(p.thawed)
	t.Cleanup(func() {
		ln.Close()
		p.Thaw()
		p.closeAll()
	})
	go p.accept()
	return p
}

// ProxiedURL returns the PostgreSQL URL u with its host replaced by a new
// proxy's.
func ProxiedURL(t testing.TB, u string) (string, *Proxy) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(t, parsed.Host)
	parsed.Host = p.ln.Addr().String()
	return parsed.String(), p
}

// Freeze stops forwarding: bytes sent either way are held until Thaw.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		p.frozen, p.thawed = true, make(chan struct{})
		select {
		case <-p.pending:
		default:
		}
	}
}

// Thaw resumes forwarding.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.thawed)
	}
}

// Held reports whether, within the given time, a frozen proxy holds back
// bytes: a statement is on its way to the frozen database.
func (p *Proxy) Held(within time.Duration) bool {
	select {
	case <-p.pending:
		return true
	case <-time.After(within):
		return false
	}
}

// Cut closes every connection, and every new one until Restore: the server
// is gone.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.closeAll()
	p.Thaw()
}

// Restore accepts connections again after Cut.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		client.Close()
		server.Close()
		return
	}
	go p.pipe(server, client)
	p.pipe(client, server)
}

// pipe copies from src to dst, waiting while the proxy is frozen.
func (p *Proxy) pipe(src, dst net.Conn) {
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen, thawed := p.frozen, p.thawed
			p.mu.Unlock()
			if frozen {
				select {
				case p.pending <- struct{}{}:
				default:
				}
				<-thawed
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
