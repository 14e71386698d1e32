package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
)

func TestToken(t *testing.T) {
	dir := inTemp(t)
	exhibit(t, "token", "list").want(t, 1)
	exhibit(t, "init", "--origin", "test.example/log").want(t, 0)
	exhibit(t, "token", "list").want(t, 0, "ID")

	r := exhibit(t, "token", "create", "--name", "ci")
	r.want(t, 0, "shown only this once")
	tok := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(tok, api.TokenPrefix) {
		t.Fatalf("token %q lacks the prefix %q", tok, api.TokenPrefix)
	}
	exhibit(t, "token", "create", "--name", "ci").want(t, 1, "exists")
	exhibit(t, "token", "create").want(t, 0)

	b, err := os.ReadFile(filepath.Join(dir, "exhibit-archive", api.TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), tok) {
		t.Error("tokens.json holds the token in the clear")
	}
	l := exhibit(t, "token", "list")
	l.want(t, 0, "ci", "tok_")
	if strings.Contains(l.stdout, tok) {
		t.Error("token list shows a token")
	}
	if n := strings.Count(l.stdout, "tok_"); n != 2 {
		t.Errorf("token list shows %d tokens, want 2:\n%s", n, l.stdout)
	}

	exhibit(t, "token", "revoke", "ci").want(t, 0, "revoked")
	exhibit(t, "token", "revoke", "ci").want(t, 1, "no such token")
	exhibit(t, "token", "revoke").want(t, 2)
	if l := exhibit(t, "token", "list"); strings.Contains(l.stdout, "ci") || strings.Count(l.stdout, "tok_") != 1 {
		t.Errorf("after revoke:\n%s", l.stdout)
	}
}
