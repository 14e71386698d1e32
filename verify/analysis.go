package verify

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// AnalysisPredicateType: an analysis of a provision, signed with its author
// and time (docs/FORMATS.md section 2.8). Like the tracking statements it
// is an in-toto Statement v1 in a DSSE envelope, logged and proved the same
// way.
const AnalysisPredicateType = "https://github.com/exhibit-archive/exhibit/analysis/v1"

// AnalysisStatement's subject is the document ID with the SHA-256 of the
// analysed version's text.
type AnalysisStatement = TypedStatement[Analysis]

// Levels of an analysis' severity and confidence.
const (
	LevelLow    = "low"
	LevelMedium = "medium"
	LevelHigh   = "high"
)

// Bases of an analysis: what in the text it rests on.
const (
	// BasisExplicit: the text states it in so many words.
	BasisExplicit = "explicit"
	// BasisImplied: the text implies it without saying it.
	BasisImplied = "implied"
	// BasisAbsent: the analysis is about what the text does not say.
	BasisAbsent = "absent"
)

// Limits of an analysis' texts, in bytes of UTF-8: each of why, impact and
// note, and the author. Together they keep an entry well within the
// tlog-tiles limit of 65,535 bytes.
const (
	MaxAnalysisText   = 8000
	MaxAnalysisAuthor = 200
	MaxRegulations    = 32
)

// ClauseType names a provision type of a vocabulary (archive/taxonomy):
// its stable ID, and the name and version of the vocabulary that defined
// it when the analysis was made.
type ClauseType struct {
	ID       string `json:"id"`
	Taxonomy string `json:"taxonomy"`
	Version  string `json:"version"`
}

// Regulation is a regulation an analysis says applies, and the
// jurisdiction where it does: an ISO 3166-1 alpha-2 code ("DE", "GB"), one
// of the codes ISO 3166-1 reserves exceptionally ("EU", "UK"), or an ISO
// 3166-2 subdivision ("US-CA").
type Regulation struct {
	Name         string `json:"name"`
	Jurisdiction string `json:"jurisdiction"`
}

// String returns the regulation as NAME@JURISDICTION.
func (r Regulation) String() string { return r.Name + "@" + r.Jurisdiction }

// Analysis is an opinion about a provision: what type of clause it is, how
// severe, how confident the author is, what it rests on, which regulations
// apply and why it matters, signed with its author and time. A revision
// supersedes the previous analysis of the same provision without erasing
// it: each names the one before.
type Analysis struct {
	// Provision is the provision's record ID; Version the record ID of the
	// version analysed (the one quoted, or a later one in which the
	// provision stands), and Text that version's text.
	Provision string `json:"provision"`
	Version   string `json:"version"`
	Text      Text   `json:"text"`
	// Type is the provision type; Severity and Confidence are low, medium
	// or high; Basis explicit, implied or absent.
	Type       ClauseType `json:"type"`
	Severity   string     `json:"severity"`
	Confidence string     `json:"confidence"`
	Basis      string     `json:"basis"`
	// Regulations that apply, each once.
	Regulations []Regulation `json:"regulations,omitempty"`
	// Why it matters, its impact on the people it binds, and a note
	// (interpretive uncertainty, scope), each optional, at most
	// MaxAnalysisText bytes.
	Why    string `json:"why,omitempty"`
	Impact string `json:"impact,omitempty"`
	Note   string `json:"note,omitempty"`
	// Author is who made the analysis (a person or a team).
	Author string `json:"author"`
	// Revision counts the analyses of the provision, from 1; Supersedes is
	// the record ID of revision Revision-1 (empty for revision 1).
	Revision   int    `json:"revision"`
	Supersedes string `json:"supersedes,omitempty"`
	// AnalyzedAt is when the analysis was made, RFC 3339 UTC.
	AnalyzedAt string `json:"analyzed_at"`
	Tool       Tool   `json:"tool"`
}

// CheckClauseTypeID checks a provision type's ID or a vocabulary's name:
// 1 to 64 lowercase ASCII letters, digits and single inner hyphens.
func CheckClauseTypeID(id string) error {
	if len(id) > 64 {
		return fmt.Errorf("%q is longer than 64 characters", id)
	}
	if err := CheckDocumentID(id); err != nil {
		return fmt.Errorf("%q: want 1 to 64 lowercase letters, digits and single inner hyphens", id)
	}
	return nil
}

var (
	jurisdictionRE = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	regulationRE   = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} .,'’()/&§°-]{0,99}$`)
	versionTagRE   = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$`)
)

// CheckRegulation checks a regulation's name (1 to 100 letters, digits,
// spaces and . , ' ’ ( ) / & § ° -, starting with a letter or digit, no "@")
// and jurisdiction (see [Regulation]).
func CheckRegulation(r Regulation) error {
	if !regulationRE.MatchString(r.Name) || strings.HasSuffix(r.Name, " ") {
		return fmt.Errorf("regulation name %q: want 1 to 100 letters, digits, spaces and . , ' ’ ( ) / & § ° -, starting with a letter or digit", r.Name)
	}
	if !jurisdictionRE.MatchString(r.Jurisdiction) {
		return fmt.Errorf("jurisdiction %q of %s: want an ISO 3166-1 alpha-2 code (DE, GB, or EU, UK) or an ISO 3166-2 subdivision (US-CA)", r.Jurisdiction, r.Name)
	}
	return nil
}

// ParseRegulation reads NAME@JURISDICTION ("GDPR@EU", "CCPA@US-CA"); the
// name is what stands before the last "@".
func ParseRegulation(s string) (Regulation, error) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return Regulation{}, fmt.Errorf("regulation %q: want NAME@JURISDICTION, e.g. GDPR@EU or CCPA@US-CA", s)
	}
	r := Regulation{Name: s[:i], Jurisdiction: s[i+1:]}
	if err := CheckRegulation(r); err != nil {
		return Regulation{}, fmt.Errorf("regulation %q: %v", s, err)
	}
	return r, nil
}

func checkLevel(name, v string) error {
	switch v {
	case LevelLow, LevelMedium, LevelHigh:
		return nil
	}
	return fmt.Errorf("%s %q: want low, medium or high", name, v)
}

// CheckAnalysisText checks one of an analysis' texts (why, impact, note):
// valid UTF-8 of at most MaxAnalysisText bytes, with no control character
// but newline and tab.
func CheckAnalysisText(name, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	if len(v) > MaxAnalysisText {
		return fmt.Errorf("%s is %d bytes, at most %d", name, len(v), MaxAnalysisText)
	}
	if i := strings.IndexFunc(v, func(r rune) bool { return r != '\n' && r != '\t' && IsControl(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return fmt.Errorf("%s has a control or text-direction character (%U at byte %d)", name, r, i)
	}
	return nil
}

func checkAnalysis(s *AnalysisStatement) error {
	p := &s.Predicate
	if s.SubjectDigest() != p.Text.SHA256 {
		return fmt.Errorf("subject digest %s differs from text.sha256 %s", s.SubjectDigest(), p.Text.SHA256)
	}
	ids := map[string]string{"provision": p.Provision, "version": p.Version}
	if p.Supersedes != "" {
		ids["supersedes"] = p.Supersedes
	}
	if err := checkRecordIDs(ids); err != nil {
		return err
	}
	if err := checkText("text", p.Text); err != nil {
		return err
	}
	if err := CheckClauseTypeID(p.Type.ID); err != nil {
		return fmt.Errorf("type.id: %v", err)
	}
	if err := CheckClauseTypeID(p.Type.Taxonomy); err != nil {
		return fmt.Errorf("type.taxonomy: %v", err)
	}
	if !versionTagRE.MatchString(p.Type.Version) {
		return fmt.Errorf("type.version %q: want 1 to 32 letters, digits, '.', '+' or '-'", p.Type.Version)
	}
	if err := checkLevel("severity", p.Severity); err != nil {
		return err
	}
	if err := checkLevel("confidence", p.Confidence); err != nil {
		return err
	}
	switch p.Basis {
	case BasisExplicit, BasisImplied, BasisAbsent:
	default:
		return fmt.Errorf("basis %q: want explicit, implied or absent", p.Basis)
	}
	if len(p.Regulations) > MaxRegulations {
		return fmt.Errorf("%d regulations, at most %d", len(p.Regulations), MaxRegulations)
	}
	seen := map[Regulation]bool{}
	for i, r := range p.Regulations {
		if err := CheckRegulation(r); err != nil {
			return fmt.Errorf("regulations[%d]: %v", i, err)
		}
		if seen[r] {
			return fmt.Errorf("regulations[%d]: %s is listed twice", i, r)
		}
		seen[r] = true
	}
	for name, v := range map[string]string{"why": p.Why, "impact": p.Impact, "note": p.Note} {
		if err := CheckAnalysisText(name, v); err != nil {
			return err
		}
	}
	if strings.TrimSpace(p.Author) == "" || len(p.Author) > MaxAnalysisAuthor || strings.ContainsFunc(p.Author, IsControl) || !utf8.ValidString(p.Author) {
		return fmt.Errorf("author %q: want 1 to %d bytes of text with no control character", p.Author, MaxAnalysisAuthor)
	}
	if p.Revision < 1 {
		return fmt.Errorf("revision %d, want 1 or more", p.Revision)
	}
	if (p.Revision == 1) != (p.Supersedes == "") {
		return fmt.Errorf("revision %d with supersedes %q (only revision 1 supersedes none)", p.Revision, p.Supersedes)
	}
	if p.Tool.Name == "" {
		return errors.New("predicate has no tool name")
	}
	return checkTimes(map[string]string{"analyzed_at": p.AnalyzedAt})
}
