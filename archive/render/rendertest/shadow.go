package rendertest

import (
	"io"
	"net/http"
)

// ShadowClauses are the texts of ShadowPage's web components, in the
// order a reader sees them: a clause in an open shadow root, one in a
// closed root, the host's light child that the next root slots in before
// its own content, and a clause in a closed root nested in that open one.
var ShadowClauses = []string{
	"Open shadow clause binds the parties.",
	"Closed shadow clause waives the class action.",
	"Light text of the host.",
	"Nested shadow clause limits liability.",
}

// TemplateText is the text of ShadowPage's ordinary <template>, which is
// never shown.
const TemplateText = "Template text never shown."

// ShadowPage serves, at every path, a page whose script attaches the
// shadow roots of ShadowClauses 50 ms after load (none is in the body the
// server sends), followed by a paragraph "After the components."
func ShadowPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, shadowPage)
	})
}

const shadowPage = `<!DOCTYPE html><html><head><title>Shadow</title></head><body>
<h1>Terms</h1>
<policy-clause id="open"></policy-clause>
<policy-clause id="closed"></policy-clause>
<policy-clause id="outer"><span>Light text of the host.</span></policy-clause>
<template id="hidden"><p>` + TemplateText + `</p></template>
<p>After the components. <input value="typed"></p>
<script>
addEventListener('load', () => setTimeout(() => {
	document.getElementById('open').attachShadow({mode: 'open'}).innerHTML = '<p>Open shadow clause binds the parties.</p>';
	document.getElementById('closed').attachShadow({mode: 'closed'}).innerHTML = '<p>Closed shadow clause waives the class action.</p>';
	const outer = document.getElementById('outer').attachShadow({mode: 'open'});
	outer.innerHTML = '<div><slot></slot><inner-clause></inner-clause></div>';
	outer.querySelector('inner-clause').attachShadow({mode: 'closed'}).innerHTML = '<p>Nested shadow clause limits liability.</p>';
}, 50));
</script>
</body></html>`
