package extract

// decodeText decodes a text/plain body by the rules of decode (without
// <meta>); an unknown charset label is ReasonMalformed.
func decodeText(body []byte, contentType string) (string, *Decoding, error) {
	b, d, err := decode(body, contentType, false)
	return string(b), d, err
}
