package webhooks

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks spec's own example.
func TestSignMatchesTheSpecExample(t *testing.T) {
	got, err := Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil || got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Errorf("Sign = %q, %v", got, err)
	}
}

// During a rotation each secret signs, in the order given.
func TestSignWithSeveralSecrets(t *testing.T) {
	at, body := time.Unix(1614265330, 0), []byte(`{}`)
	a, b := NewSecret(), NewSecret()
	both, err := Sign("evt_1", at, body, a, b)
	if err != nil {
		t.Fatal(err)
	}
	onlyA, _ := Sign("evt_1", at, body, a)
	onlyB, _ := Sign("evt_1", at, body, b)
	if both != onlyA+" "+onlyB {
		t.Errorf("Sign(a, b) = %q, want %q", both, onlyA+" "+onlyB)
	}
	if other, _ := Sign("evt_2", at, body, a); other == onlyA {
		t.Error("the id is not signed")
	}
	if later, _ := Sign("evt_1", at.Add(time.Second), body, a); later == onlyA {
		t.Error("the timestamp is not signed")
	}
	if _, err := Sign("evt_1", at, body, "whsec_not base64!"); err == nil {
		t.Error("a secret that is not base64 signs")
	}
}

func TestNewSecret(t *testing.T) {
	s := NewSecret()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if !strings.HasPrefix(s, "whsec_") || err != nil || len(key) != 32 {
		t.Errorf("secret %q: %v", s, err)
	}
	if NewSecret() == s {
		t.Error("two secrets are equal")
	}
}
