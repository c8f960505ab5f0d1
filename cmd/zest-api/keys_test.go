package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/testkit"
)

// An operator registers the public key that keys generate wrote, lists and
// revokes it; a weak or repeated key is refused, and generate never
// overwrites a key pair.
func TestKeyCommands(t *testing.T) {
	t.Parallel()
	db := testkit.URL(t, testkit.SQLite)
	run := func(args ...string) (string, string, int) { return cli(t, db, nil, args...) }
	if _, errs, code := run("tenants", "create", "acme"); code != 0 {
		t.Fatalf("tenants create: %d %q", code, errs)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	out, errs, code := run("keys", "generate", "--out", dir)
	priv, pub := filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	if code != 0 || out != priv+"\n"+pub+"\n" {
		t.Fatalf("keys generate: %d %q %q", code, out, errs)
	}
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private.pem: %v %v", fi, err)
	}
	privPEM, _ := os.ReadFile(priv)
	if block, _ := pem.Decode(privPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("private.pem is not a PKCS #8 PEM")
	} else if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Error(err)
	}
	if _, errs, code := run("keys", "generate", "--out", dir); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("generate over a pair: %d %q", code, errs)
	}
	if _, errs, code := run("keys", "add", "acme", "--kid", "k1", "--public-key", pub); code != 0 {
		t.Fatalf("keys add: %d %q", code, errs)
	}
	if _, errs, code := run("keys", "add", "acme", "--kid", "k1", "--public-key", pub); code != 1 || !strings.Contains(errs, "already has a key k1") {
		t.Errorf("same kid again: %d %q", code, errs)
	}
	if _, errs, code := run("keys", "add", "nobody", "--kid", "k1", "--public-key", pub); code != 1 || !strings.Contains(errs, "no tenant nobody") {
		t.Errorf("key of no tenant: %d %q", code, errs)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&weak.PublicKey)
	weakFile := filepath.Join(t.TempDir(), "weak.pem")
	if err := os.WriteFile(weakFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run("keys", "add", "acme", "--kid", "weak", "--public-key", weakFile); code != 1 || !strings.Contains(errs, "1024 bits") {
		t.Errorf("RSA-1024: %d %q", code, errs)
	}
	if _, errs, code := run("keys", "add", "acme", "--kid", "k2", "--public-key", priv); code != 1 || !strings.Contains(errs, "public key must be") {
		t.Errorf("a private key: %d %q", code, errs)
	}
	if _, _, code := run("keys", "add", "acme", "--kid", "k1"); code != 2 {
		t.Errorf("keys add without --public-key: exit %d, want 2", code)
	}
	if out, _, code := run("keys", "list", "acme"); code != 0 || !strings.Contains(out, "k1   ed25519") || strings.Contains(out, "weak") {
		t.Errorf("keys list: %d %q", code, out)
	}
	if out, errs, code := run("keys", "revoke", "acme", "k1"); code != 0 || out != "key k1 of tenant acme revoked\n" {
		t.Errorf("keys revoke: %d %q %q", code, out, errs)
	}
	if _, errs, code := run("keys", "revoke", "acme", "k9"); code != 1 || !strings.Contains(errs, "has no key k9") {
		t.Errorf("revoke unknown: %d %q", code, errs)
	}
	// A JWKS URL is fetched as webhooks are sent: https, public addresses.
	if _, errs, code := run("keys", "jwks", "acme", "http://127.0.0.1:9/jwks.json"); code != 1 || !strings.Contains(errs, "JWKS URL must be") {
		t.Errorf("keys jwks on loopback: %d %q", code, errs)
	}
	if out, errs, code := run("keys", "jwks", "acme", "https://keys.acme.example/jwks.json"); code != 0 || !strings.Contains(out, "https://keys.acme.example/jwks.json") {
		t.Errorf("keys jwks: %d %q %q", code, out, errs)
	}
	if out, _, _ := run("keys", "list", "acme"); !strings.HasPrefix(out, "JWKS: https://keys.acme.example/jwks.json\n") {
		t.Errorf("keys list does not show the JWKS URL: %q", out)
	}
	if _, errs, code := run("keys", "jwks-remove", "acme"); code != 0 {
		t.Errorf("keys jwks-remove: %d %q", code, errs)
	}
	if _, errs, code := run("keys", "jwks-remove", "acme"); code != 1 || !strings.Contains(errs, "has no JWKS URL") {
		t.Errorf("keys jwks-remove again: %d %q", code, errs)
	}
	out, _, _ = run("keys", "list", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if f := strings.Fields(lines[len(lines)-1]); len(f) != 5 || f[0] != "k1" || f[2] != "file" || f[4] == "-" {
		t.Errorf("revoked key listed without its revocation time: %q", out)
	}
}
