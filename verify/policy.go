package verify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Policy is a C2SP tlog-policy (https://c2sp.org/tlog-policy): the logs a
// verifier accepts, the witnesses it knows, and the quorum rule that decides
// whether a set of witnesses that cosigned a checkpoint is enough.
//
// A checkpoint satisfies a policy when it carries a valid signature by one of
// Logs and valid cosignatures by witnesses that satisfy the quorum (see
// [OpenWitnessed]).
type Policy struct {
	// Logs are the accepted logs, in file order. May be empty.
	Logs []PolicyLog
	// Witnesses are the known witnesses, in file order.
	Witnesses []PolicyWitness
	// Groups are the witness groups, in file order.
	Groups []PolicyGroup
	// Quorum is the name of the witness or group that must witness a
	// checkpoint, or [QuorumNone] when no cosignature is required.
	Quorum string
}

// QuorumNone is the predefined quorum name that requires no cosignatures.
const QuorumNone = "none"

// PolicyLog is a "log <vkey> [<url>]" line.
type PolicyLog struct {
	// Key is the log's key; its name is the log's origin.
	Key *PublicKey
	// URL is the log's URL, or "".
	URL string
}

// PolicyWitness is a "witness <name> <vkey> [<url>]" line.
type PolicyWitness struct {
	// Name is the witness's name in the policy, which need not be its key
	// name.
	Name string
	// Key is the witness's C2SP tlog-cosignature v1 key.
	Key *CosignerKey
	// URL is the witness's C2SP tlog-witness submission prefix, or "".
	URL string
}

// PolicyGroup is a "group <name> <all|any|k> <name>..." line.
type PolicyGroup struct {
	Name string
	// Threshold is how many members must have witnessed a checkpoint for
	// the group to witness it: 1 <= Threshold <= len(Members).
	Threshold int
	// Members name witnesses or groups defined on earlier lines.
	Members []string
}

// ErrPolicy is wrapped by the errors [ParsePolicy] returns.
var ErrPolicy = errors.New("invalid policy")

// PolicyError reports a policy file line that [ParsePolicy] rejects. Line
// is 1-based; it is 0 for an error about the file as a whole (such as a
// missing quorum line).
type PolicyError struct {
	Line int
	Err  error
}

func (e *PolicyError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%v: %v", ErrPolicy, e.Err)
	}
	return fmt.Sprintf("%v: line %d: %v", ErrPolicy, e.Line, e.Err)
}

func (e *PolicyError) Unwrap() []error { return []error{ErrPolicy, e.Err} }

// Policy parser limits, above the 32 logs, witnesses and groups the
// specification recommends supporting.
const (
	maxPolicyLogs      = 256
	maxPolicyWitnesses = 256
	maxPolicyGroups    = 256
)

// ParsePolicy parses a C2SP tlog-policy file. The file is a sequence of
// newline-terminated lines (the last newline may be missing) whose items are
// separated by spaces and tabs; empty lines and lines whose first non-blank
// character is "#" are ignored. The lines are:
//
//	log <vkey> [<url>]
//	witness <name> <vkey> [<url>]
//	group <name> all|any|<k> <name>...
//	quorum <name>|none
//
// Log keys are signed-note vkeys of type 0x01 (Ed25519) or 0x02 (ECDSA
// P-256), as [ParseVKey] accepts; witness keys are tlog-cosignature v1
// vkeys (type 0x04), as [ParseCosignerVKey] accepts. Parsing is strict: it
// rejects control characters other than tab, unknown keywords, names that
// are keywords, duplicate names, duplicate log or witness keys (the same
// public key under any name), groups or a quorum naming what no earlier line
// defines, a name listed twice in one group, thresholds outside 1..n, and a
// file with no quorum line or more than one. Every error is a *PolicyError
// with the line number, wrapping ErrPolicy.
func ParsePolicy(data []byte) (*Policy, error) {
	p := &Policy{}
	defined := map[string]bool{}
	logKeys := map[string]int{}
	witnessKeys := map[string]int{}
	quorumLine := 0
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, raw := range lines {
		n := i + 1
		fail := func(format string, args ...any) (*Policy, error) {
			return nil, &PolicyError{Line: n, Err: fmt.Errorf(format, args...)}
		}
		if j := bytes.IndexFunc(raw, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); j >= 0 {
			return fail("control character 0x%02x (only tab and newline are allowed)", raw[j])
		}
		fields := strings.FieldsFunc(string(raw), func(r rune) bool { return r == ' ' || r == '\t' })
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch kw, args := fields[0], fields[1:]; kw {
		case "log":
			if len(args) < 1 || len(args) > 2 {
				return fail("want \"log <vkey> [<url>]\", got %d items after \"log\"", len(args))
			}
			k, err := ParseVKey(args[0])
			if err != nil {
				return nil, &PolicyError{Line: n, Err: err}
			}
			id := publicKeyID(k.Key)
			if prev, ok := logKeys[id]; ok {
				return fail("log key %s is the same public key as the log on line %d", k.Name, prev)
			}
			if len(p.Logs) == maxPolicyLogs {
				return fail("more than %d logs", maxPolicyLogs)
			}
			logKeys[id] = n
			p.Logs = append(p.Logs, PolicyLog{Key: k, URL: optional(args, 1)})
		case "witness":
			if len(args) < 2 || len(args) > 3 {
				return fail("want \"witness <name> <vkey> [<url>]\", got %d items after \"witness\"", len(args))
			}
			name := args[0]
			if err := checkNewName(name, defined); err != nil {
				return nil, &PolicyError{Line: n, Err: err}
			}
			k, err := ParseCosignerVKey(args[1])
			if err != nil {
				return nil, &PolicyError{Line: n, Err: err}
			}
			id := string(k.Key)
			if prev, ok := witnessKeys[id]; ok {
				return fail("witness %s has the same public key as the witness on line %d", name, prev)
			}
			if len(p.Witnesses) == maxPolicyWitnesses {
				return fail("more than %d witnesses", maxPolicyWitnesses)
			}
			witnessKeys[id] = n
			defined[name] = true
			p.Witnesses = append(p.Witnesses, PolicyWitness{Name: name, Key: k, URL: optional(args, 2)})
		case "group":
			if len(args) < 3 {
				return fail("want \"group <name> <all|any|k> <name>...\" with at least one member")
			}
			name, k, members := args[0], args[1], args[2:]
			if err := checkNewName(name, defined); err != nil {
				return nil, &PolicyError{Line: n, Err: err}
			}
			seen := map[string]bool{}
			for _, m := range members {
				if m == QuorumNone {
					return fail("group %s: %q cannot be a group member", name, m)
				}
				if !defined[m] {
					return fail("group %s: member %q is not a witness or group defined on an earlier line", name, m)
				}
				if seen[m] {
					return fail("group %s: member %q is listed twice", name, m)
				}
				seen[m] = true
			}
			var t int
			switch k {
			case "all":
				t = len(members)
			case "any":
				t = 1
			default:
				if len(k) > 1 && k[0] == '0' {
					return fail("group %s: threshold %q has a leading zero", name, k)
				}
				v, err := strconv.ParseUint(k, 10, 16)
				if err != nil {
					return fail("group %s: threshold %q is not all, any or a decimal number", name, k)
				}
				t = int(v)
				if t < 1 || t > len(members) {
					return fail("group %s: threshold %d is outside 1..%d (its number of members)", name, t, len(members))
				}
			}
			if len(p.Groups) == maxPolicyGroups {
				return fail("more than %d groups", maxPolicyGroups)
			}
			defined[name] = true
			p.Groups = append(p.Groups, PolicyGroup{Name: name, Threshold: t, Members: members})
		case "quorum":
			if len(args) != 1 {
				return fail("want \"quorum <name>\", got %d items after \"quorum\"", len(args))
			}
			if quorumLine != 0 {
				return fail("a second quorum line (the first is line %d)", quorumLine)
			}
			if args[0] != QuorumNone && !defined[args[0]] {
				return fail("quorum %q is not a witness or group defined on an earlier line", args[0])
			}
			quorumLine = n
			p.Quorum = args[0]
		default:
			return fail("unknown keyword %q (want log, witness, group or quorum)", kw)
		}
	}
	if quorumLine == 0 {
		return nil, &PolicyError{Err: errors.New("no quorum line (use \"quorum none\" to require no cosignatures)")}
	}
	return p, nil
}

func optional(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

var policyKeywords = map[string]bool{"log": true, "witness": true, "group": true, "quorum": true, "all": true, "any": true, "none": true}

func checkNewName(name string, defined map[string]bool) error {
	switch {
	case policyKeywords[name]:
		return fmt.Errorf("name %q is a keyword", name)
	case strings.HasPrefix(name, "#"):
		return fmt.Errorf("name %q starts with #", name)
	case defined[name]:
		return fmt.Errorf("name %q is already defined", name)
	}
	return nil
}

// publicKeyID identifies a public key independently of its name, to find
// duplicate log keys.
func publicKeyID(key any) string {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return "ed25519:" + string(k)
	default:
		der, _ := x509.MarshalPKIXPublicKey(k)
		return "pkix:" + string(der)
	}
}

// LogKeys returns the keys of the policy's logs whose origin is origin, in
// file order: after a key rotation a policy lists the log once per key.
func (p *Policy) LogKeys(origin string) Keyring {
	var r Keyring
	for i := range p.Logs {
		if p.Logs[i].Key.Name == origin {
			r = append(r, p.Logs[i].Key)
		}
	}
	return r
}

// Log returns the policy's first log whose origin is origin, or nil.
func (p *Policy) Log(origin string) *PolicyLog {
	for i := range p.Logs {
		if p.Logs[i].Key.Name == origin {
			return &p.Logs[i]
		}
	}
	return nil
}

// Witness returns the witness named name in the policy, or nil.
func (p *Policy) Witness(name string) *PolicyWitness {
	for i := range p.Witnesses {
		if p.Witnesses[i].Name == name {
			return &p.Witnesses[i]
		}
	}
	return nil
}

// Satisfied reports whether witnesses whose policy names are the keys of
// signed (with value true) satisfy the quorum. Names that are not witnesses
// of the policy are ignored. A quorum of [QuorumNone] is always satisfied.
func (p *Policy) Satisfied(signed map[string]bool) bool {
	if p.Quorum == QuorumNone {
		return true
	}
	witnessed := map[string]bool{}
	for _, w := range p.Witnesses {
		witnessed[w.Name] = signed[w.Name]
	}
	// Groups only refer to names defined earlier, so one pass in file
	// order evaluates every group after its members.
	for _, g := range p.Groups {
		n := 0
		for _, m := range g.Members {
			if witnessed[m] {
				n++
			}
		}
		witnessed[g.Name] = n >= g.Threshold
	}
	return witnessed[p.Quorum]
}
