package cite

import (
	"fmt"
	"strings"

	"github.com/exhibit-archive/exhibit/verify"
)

// describeAnalysis says in one line what an analysis statement attests.
func describeAnalysis(p *verify.Analysis, doc string) string {
	s := fmt.Sprintf("analysis revision %d of provision %s of %s (version %s, text SHA-256 %s) by %s, %s: type %s (%s %s), severity %s, confidence %s, basis %s",
		p.Revision, p.Provision, doc, p.Version, p.Text.SHA256, p.Author, p.AnalyzedAt, p.Type.ID, p.Type.Taxonomy, p.Type.Version, p.Severity, p.Confidence, p.Basis)
	if len(p.Regulations) > 0 {
		regs := make([]string, len(p.Regulations))
		for i, r := range p.Regulations {
			regs[i] = r.String()
		}
		s += "; regulations " + strings.Join(regs, ", ")
	}
	if p.Supersedes != "" {
		s += "; supersedes " + p.Supersedes
	}
	return s
}

// describeCorroboration says in one line what a corroboration attests.
func describeCorroboration(p *verify.Corroboration) string {
	if p.Result == verify.CorroborationFound {
		return fmt.Sprintf("corroboration of capture %s (%s, captured %s): the TimeGate %s named the memento %s, of %s; asked %s",
			p.Capture, p.URL, p.CapturedAt, p.TimeGate, p.Memento, p.MementoDatetime, p.CheckedAt)
	}
	return fmt.Sprintf("corroboration of capture %s (%s, captured %s): the TimeGate %s holds no memento of it (HTTP %d); asked %s",
		p.Capture, p.URL, p.CapturedAt, p.TimeGate, p.Status, p.CheckedAt)
}
