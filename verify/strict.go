package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decodeStrict decodes one JSON object into v (a pointer to a struct) and
// rejects what encoding/json alone lets through, so that two
// implementations cannot read different values from the same signed bytes:
// unknown fields; trailing data; duplicate object keys; keys that match a
// field only case-insensitively; and any encoding of a value other than the
// one v re-encodes to (for example base64 with embedded newlines). Fields
// tagged omitempty may be absent but, when present, must not be empty.
func decodeStrict(b []byte, v any) error {
	if err := checkDuplicateKeys(b); err != nil {
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

// checkDuplicateKeys rejects a JSON text in which any object has the same
// key twice.
func checkDuplicateKeys(b []byte) error {
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
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if seen[k] {
					return fmt.Errorf("duplicate key %q", k)
				}
				seen[k] = true
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
