package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/zestequity/zest-api/internal/tenants"
)

var keysAddCommand = &command{
	name:    "keys add",
	args:    "CLIENT_ID",
	nargs:   1,
	summary: "register a public key with which the tenant signs its token assertions",
	about: "The key is a PEM-encoded Ed25519, ECDSA P-256 or RSA (at least 2048 bits) public key. A tenant\n" +
		"may hold several active keys, so that it can rotate without downtime.",
	setup: func(fs *flag.FlagSet) runner {
		kid := fs.String("kid", "", "the key's `id`, which assertions name in their kid header (required)")
		file := fs.String("public-key", "", "the PEM `file` of the public key (required)")
		return func(ctx context.Context, pos []string, out streams) error {
			if *kid == "" || *file == "" {
				return &usageError{"keys add", "keys add needs --kid and --public-key"}
			}
			data, err := os.ReadFile(*file)
			if err != nil {
				return err
			}
			return withTenants(ctx, func(t *tenants.Service) error {
				if err := t.AddKey(ctx, pos[0], *kid, data); err != nil {
					return keyErr(err, pos[0], *kid)
				}
				fmt.Fprintf(out.stdout, "key %s added to tenant %s\n", *kid, pos[0])
				return nil
			})
		}
	},
}

var keysListCommand = &command{
	name:    "keys list",
	args:    "CLIENT_ID",
	nargs:   1,
	summary: "list the tenant's JWKS URL and public keys: ids, types, origins (file or jwks), creation and revocation times",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				keys, err := t.ListKeys(ctx, pos[0])
				if err != nil {
					return keyErr(err, pos[0], "")
				}
				url, err := t.JWKSURL(ctx, pos[0])
				if err != nil {
					return err
				}
				if url != "" {
					fmt.Fprintf(out.stdout, "JWKS: %s\n", url)
				}
				w := tabwriter.NewWriter(out.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "KID\tTYPE\tFROM\tCREATED\tREVOKED")
				for _, k := range keys {
					from := "file"
					if k.FromJWKS {
						from = "jwks"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.KeyType, from, stamp(&k.CreatedAt), stamp(k.RevokedAt))
				}
				return w.Flush()
			})
		}
	},
}

var keysJWKSCommand = &command{
	name:    "keys jwks",
	args:    "CLIENT_ID URL",
	nargs:   2,
	summary: "read the tenant's public keys from the JWKS it publishes at an https URL, besides its registered keys",
	about: "The server fetches the JSON Web Key Set (RFC 7517) for an assertion that names a kid it does not\n" +
		"hold, or that comes after its copy's Cache-Control max-age (1 minute to 1 hour, 5 minutes without\n" +
		"one). Its Ed25519, P-256 and RSA (at least 2048 bits) signing keys work like registered ones; a\n" +
		"key found to have left the set is revoked, with its access tokens. A kid keeps its key: publish a\n" +
		"new key under a new kid. The URL is fetched as webhook endpoints are called: https, public\n" +
		"addresses (ZEST_WEBHOOK_ALLOW_PRIVATE lifts that for development).",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				if err := t.SetJWKS(ctx, pos[0], pos[1]); err != nil {
					return keyErr(err, pos[0], "")
				}
				fmt.Fprintf(out.stdout, "tenant %s reads its keys from %s too\n", pos[0], pos[1])
				return nil
			})
		}
	},
}

var keysJWKSRemoveCommand = &command{
	name:    "keys jwks-remove",
	args:    "CLIENT_ID",
	nargs:   1,
	summary: "stop reading the tenant's JWKS, and revoke the keys read from it with their access tokens",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				if err := t.RemoveJWKS(ctx, pos[0]); err != nil {
					return keyErr(err, pos[0], "")
				}
				fmt.Fprintf(out.stdout, "tenant %s no longer reads a JWKS; its keys from it are revoked\n", pos[0])
				return nil
			})
		}
	},
}

var keysRevokeCommand = &command{
	name:    "keys revoke",
	args:    "CLIENT_ID KID",
	nargs:   2,
	summary: "revoke a tenant's public key, and every access token it minted",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				if err := t.RevokeKey(ctx, pos[0], pos[1]); err != nil {
					return keyErr(err, pos[0], pos[1])
				}
				fmt.Fprintf(out.stdout, "key %s of tenant %s revoked\n", pos[1], pos[0])
				return nil
			})
		}
	},
}

var keysGenerateCommand = &command{
	name:    "keys generate",
	summary: "write a fresh Ed25519 key pair (private.pem, public.pem) for a partner to start from",
	about: "The private key stays with the partner; Zest operations register public.pem with `keys add`.\n" +
		"Existing files are never overwritten.",
	setup: func(fs *flag.FlagSet) runner {
		dir := fs.String("out", "", "the `directory` to write private.pem and public.pem into (required)")
		return func(_ context.Context, _ []string, out streams) error {
			if *dir == "" {
				return &usageError{"keys generate", "keys generate needs --out"}
			}
			priv, pub, err := tenants.GenerateKeyPair()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(*dir, 0o700); err != nil {
				return err
			}
			for _, f := range []struct {
				name string
				data []byte
				mode os.FileMode
			}{{"private.pem", priv, 0o600}, {"public.pem", pub, 0o644}} {
				path := filepath.Join(*dir, f.name)
				if err := writeNew(path, f.data, f.mode); err != nil {
					return err
				}
				fmt.Fprintln(out.stdout, path)
			}
			return nil
		}
	},
}

// writeNew refuses to replace a file: overwriting a private key in use would
// lock its partner out.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func keyErr(err error, clientID, kid string) error {
	switch {
	case errors.Is(err, tenants.ErrKeyNotFound):
		return fmt.Errorf("tenant %s has no key %s", clientID, kid)
	case errors.Is(err, tenants.ErrKeyExists):
		return fmt.Errorf("tenant %s already has a key %s", clientID, kid)
	case errors.Is(err, tenants.ErrNoJWKS):
		return fmt.Errorf("tenant %s has no JWKS URL", clientID)
	}
	return tenantErr(err, clientID)
}
