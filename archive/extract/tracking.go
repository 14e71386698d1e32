package extract

import (
	"net/url"
	"strings"
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

// StripTracking returns href without its tracking query parameters: those
// whose name, percent-decoded and compared case-insensitively, starts with
// "utm_" or is one of fbclid, gclid, dclid, gbraid, wbraid, msclkid, yclid,
// twclid, ttclid, li_fat_id, igshid, mc_cid, mc_eid, _ga, _gl, _hsenc,
// _hsmi, __hstc, __hssc, __hsfp, hsCtaTracking, mkt_tok, oly_anon_id,
// oly_enc_id, vero_id, vero_conv, rb_clickid, s_cid, ref_src, spm, trk and
// trkCampaign. Everything else (the order, spelling and encoding of the
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
		key, _, _ := strings.Cut(p, "=")
		if isTracking(key) {
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
