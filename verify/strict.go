package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// decodeStrict decodes one JSON object into v (a pointer to a struct) and
// rejects what encoding/json alone lets through, so that two
// implementations cannot read different values from the same signed bytes:
// unknown fields; trailing data; duplicate object keys; keys that match a
// field only case-insensitively; and any encoding of a value other than the
// one v re-encodes to (for example base64 with embedded newlines). Fields
// tagged omitempty may be absent but, when present, must not be empty.
func decodeStrict(b []byte, v any) error {
	if err := checkDuplicateKeys(b, false); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return errors.New("trailing data after the JSON object")
	}
	// Compare the input with v's own encoding, both normalised through a
	// generic decoding (which keeps exact key spelling).
	var in, out any
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	re, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(re, &out); err != nil {
		return err
	}
	if path, ok := sameJSON(in, out, "$"); !ok {
		return fmt.Errorf("non-canonical JSON at %s (a misspelt or differently cased key, an empty optional field, or a value in a non-standard encoding)", path)
	}
	return nil
}

// sameJSON compares two generic JSON values, treating a null or absent
// key alike, and returns the path of the first difference.
func sameJSON(a, b any, path string) (string, bool) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return path, false
		}
		for k, av := range x {
			if p, ok := sameJSON(av, y[k], path+"."+k); !ok {
				return p, false
			}
		}
		for k, bv := range y {
			if _, ok := x[k]; !ok && bv != nil {
				return path + "." + k, false
			}
		}
		return "", true
	case []any:
		y, ok := b.([]any)
		if len(x) == 0 && b == nil {
			return "", true // [] and null are alike
		}
		if !ok || len(x) != len(y) {
			return path, false
		}
		for i := range x {
			if p, ok := sameJSON(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	default:
		return path, a == b
	}
}

// UniqueKeys returns an error naming the first key that appears twice in
// an object of the JSON text b, keys compared as encoding/json matches
// them to struct fields (case-insensitively, "url" and "URL" being the
// same field): a decoder would keep one of the values and drop the other
// unseen. It returns the decoder's error for text that is not JSON.
func UniqueKeys(b []byte) error {
	if !json.Valid(b) {
		var v any
		return json.Unmarshal(b, &v)
	}
	return checkDuplicateKeys(b, true)
}

// foldKey folds a JSON key as encoding/json does to match it with a
// struct field: ASCII letters to upper case, any other rune to the
// smallest rune of its simple case-folding orbit (so the Kelvin sign
// folds with K).
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkDuplicateKeys rejects a JSON text in which any object has the same
// key twice or, with fold, two keys that differ only in case (see
// [UniqueKeys]). decodeStrict does not fold: a signed statement's map of
// response headers may hold names that differ only in case (as a server
// sent them), and its struct fields are checked for case by the
// re-encoding comparison.
func checkDuplicateKeys(b []byte, fold bool) error {
	key := func(k string) string { return k }
	if fold {
		key = foldKey
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		switch d {
		case '{':
			seen := map[string]string{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				fk := key(k)
				switch first, dup := seen[fk]; {
				case dup && first == k:
					return fmt.Errorf("duplicate key %q", k)
				case dup:
					return fmt.Errorf("duplicate key: %q and %q differ only in case, and name the same field", first, k)
				}
				seen[fk] = k
				if err := walk(); err != nil {
					return err
				}
			}
		case '[':
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	if err := walk(); err != nil && err != io.EOF {
		return err
	}
	return nil
}
