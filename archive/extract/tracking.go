package extract

import (
	"net/url"
	"strings"
	"time"
)

// trackingParams are the query parameters StripTracking removes, besides
// any starting with "utm_". Changing this list changes output: bump Version.
var trackingParams = []string{
	"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
	"twclid", "ttclid", "li_fat_id", "igshid", "mc_cid", "mc_eid", "_ga",
	"_gl", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
	"mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv",
	"rb_clickid", "s_cid", "ref_src", "spm", "trk", "trkcampaign",
}

var trackingSet = func() map[string]bool {
	m := make(map[string]bool, len(trackingParams))
	for _, p := range trackingParams {
		m[strings.ToLower(p)] = true
	}
	return m
}()

func isTracking(key string) bool {
	if k, err := url.QueryUnescape(key); err == nil {
		key = k
	}
	key = strings.ToLower(strings.TrimSpace(key))
	return strings.HasPrefix(key, "utm_") || trackingSet[key]
}

// cacheBusters are the names of query parameters whose value is made
// afresh for each response (a random number or the time), whatever it is.
var cacheBusters = map[string]bool{
	"_": true, "cb": true, "cachebuster": true, "cache_buster": true, "cachebust": true,
	"nocache": true, "no_cache": true, "rnd": true, "rand": true, "random": true,
	"timestamp": true, "ts": true, "_t": true, "_ts": true,
}

// isVolatile reports whether a query parameter varies from one fetch of
// the same page to the next: a cache-buster by name, or a value that is a
// point in time: Unix seconds or milliseconds between 2001 and 2100, or a
// date or date-time such as 2026-05-08, 20260508 or
// 2026-05-08T09:30:00Z.
func isVolatile(key, value string) bool {
	if k, err := url.QueryUnescape(key); err == nil {
		key = k
	}
	key = strings.ToLower(strings.TrimSpace(key))
	if cacheBusters[key] {
		return true
	}
	if !timeNames[key] {
		return false // an ID, a phone number, an effective date: meaningful
	}
	if v, err := url.QueryUnescape(value); err == nil {
		value = v
	}
	return isTimeValue(strings.TrimSpace(value))
}

// timeNames are the names of query parameters whose value, when it is a
// point in time, is the time of the fetch or of a build: a version stamp.
var timeNames = map[string]bool{
	"t": true, "time": true, "date": true, "d": true, "dt": true, "now": true,
	"v": true, "ver": true, "version": true, "build": true, "cache": true,
	"updated": true, "modified": true, "at": true,
}

// isTimeValue reports whether v is a point in time as isVolatile says.
func isTimeValue(v string) bool {
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return s != ""
	}
	switch {
	case len(v) == 10 && digits(v):
		return v >= "1000000000" && v <= "4102444800"
	case len(v) == 13 && digits(v):
		return v >= "1000000000000" && v <= "4102444800000"
	case len(v) == 8 && digits(v):
		_, err := time.Parse("20060102", v)
		return err == nil && v >= "2001" && v < "2101"
	case len(v) >= 10 && digits(v[:4]) && v[4] == '-' && digits(v[5:7]) && v[7] == '-' && digits(v[8:10]):
		if _, err := time.Parse(time.DateOnly, v[:10]); err != nil {
			return false
		}
		return len(v) == 10 || v[10] == 'T' || v[10] == 't' || v[10] == ' '
	}
	return false
}

// StripTracking returns href without its tracking query parameters: those
// whose name, percent-decoded and compared case-insensitively, starts with
// "utm_" or is one of fbclid, gclid, dclid, gbraid, wbraid, msclkid, yclid,
// twclid, ttclid, li_fat_id, igshid, mc_cid, mc_eid, _ga, _gl, _hsenc,
// _hsmi, __hstc, __hssc, __hsfp, hsCtaTracking, mkt_tok, oly_anon_id,
// oly_enc_id, vero_id, vero_conv, rb_clickid, s_cid, ref_src, spm, trk and
// trkCampaign; and the parameters that vary from one fetch to the next:
// cache-busters by name (_, cb, cachebuster, cache_buster, cachebust,
// nocache, no_cache, rnd, rand, random, timestamp, ts, _t, _ts), and
// those named t, time, date, d, dt, now, v, ver, version, build, cache,
// updated, modified or at whose value is a point in time (Unix seconds or
// milliseconds from 2001 to 2100, a date such as 2026-05-08 or 20260508,
// or a date-time starting with one). Other parameters with such values
// (id=1234567890, effective=2025-01-01) are kept: they name a resource. Everything else (the order, spelling and encoding of the
// other parameters, and the fragment) is kept byte for byte; a query left
// empty loses its "?". href need not be a valid URL.
func StripTracking(href string) string {
	q := strings.IndexByte(href, '?')
	if q < 0 {
		return href
	}
	head, query := href[:q], href[q+1:]
	frag := ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	if h := strings.IndexByte(head, '#'); h >= 0 {
		// "?" inside the fragment: there is no query.
		return href
	}
	kept := make([]string, 0, 4)
	changed := false
	for p := range strings.SplitSeq(query, "&") {
		key, value, _ := strings.Cut(p, "=")
		if isTracking(key) || isVolatile(key, value) {
			changed = true
			continue
		}
		kept = append(kept, p)
	}
	if !changed {
		return href
	}
	if len(kept) == 0 {
		return head + frag
	}
	return head + "?" + strings.Join(kept, "&") + frag
}
