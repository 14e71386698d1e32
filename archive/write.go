package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// This file is the archive's one write path: every record of every kind
// (a capture, a file, an import, a tracking statement, the write API's)
// enters the log here.

// Submission is a statement signed and handed to the log, not yet
// acknowledged: see [Archive.Await].
type Submission struct {
	rec *record.Record
	p   *ledger.Pending
	// done is set once Await acknowledged it; out is then its record.
	done bool
	out  *record.Record
	err  error
}

// ID returns the record ID the submission will have: it is known before
// the entry is published (it derives from the signed entry alone).
func (s *Submission) ID() string { return s.rec.ID }

// Record returns the submission's record as known before it is
// acknowledged: its ID, statement and entry, but no index yet (zero) and
// no checkpoint.
func (s *Submission) Record() *record.Record {
	r := *s.rec
	r.Index = 0
	return &r
}

// Writable returns nil when the archive is open for writing, else
// ErrReadOnly: callers that store anything before they Submit check it
// first, so that a read-only archive is never written to.
func (a *Archive) Writable() error {
	if a.writer == nil {
		return ErrReadOnly
	}
	return nil
}

// EntryTooLargeError is returned by Submit for a statement whose signed
// entry is over the C2SP tlog-tiles limit (verify.MaxEntrySize). Nothing
// is logged.
type EntryTooLargeError struct {
	Kind string
	Size int
}

func (e *EntryTooLargeError) Error() string {
	return fmt.Sprintf("the signed %s statement is %d bytes, over the log's entry limit of %d", e.Kind, e.Size, verify.MaxEntrySize)
}

// Submit checks a statement, signs it and hands it to the log, and returns
// at once. st is a pointer to one of package verify's statements
// (verify.Statement for a capture; verify.DeclarationStatement,
// VersionStatement, ExtractionStatement, ProvisionStatement,
// ProvisionStatusStatement for tracking). A statement a verifier would
// reject is refused (the error wraps verify.ErrStatement), as is one whose
// signed entry is too large (*EntryTooLargeError); nothing is then logged.
//
// Once Submit returns, the entry will be in the log whether or not the
// caller waits: it follows every entry submitted before, and Await tells
// when it is published.
func (a *Archive) Submit(ctx context.Context, st any) (*Submission, error) {
	if a.writer == nil {
		return nil, ErrReadOnly
	}
	// Never log what a verifier would reject.
	ent, err := verify.NewEntry(st)
	if err != nil {
		return nil, fmt.Errorf("refusing to log: %w", err)
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(payload, []byte("\ufffd")) {
		// encoding/json may have replaced invalid UTF-8 in a string with
		// U+FFFD: what is logged is the payload; read it back.
		if ent, err = verify.ParseEntryStatement(payload); err != nil {
			return nil, fmt.Errorf("refusing to log: %w", err)
		}
	}
	entry, err := a.signer.SignStatement(payload)
	if err != nil {
		return nil, err
	}
	if len(entry) > verify.MaxEntrySize {
		return nil, &EntryTooLargeError{Kind: ent.Kind(), Size: len(entry)}
	}
	rec := record.FromEntry(entry, 0, ent, payload)
	// Handing the entry over reads the log's antispam index in its
	// database: a database that hangs fails it as one that refuses does,
	// after DBDownWait, and at once while it is known down.
	var p *ledger.Pending
	// Known down: nothing is handed over, so the record will not be
	// logged (unlike a failure while it is being handed over).
	if since, err := a.knownDown(DBDownWait); err != nil {
		return nil, &UnavailableError{What: "database", Err: fmt.Errorf("not handed to the log: the database has not answered for %v: %w", time.Since(since).Round(time.Second), err)}
	}
	err = a.whileDBUp(ctx, "handing the entry to the log", func(context.Context) (err error) {
		p, err = a.writer.Add(context.WithoutCancel(ctx), entry)
		return err
	})
	if err != nil {
		return nil, mayBeLogged(err, rec.ID, rec.SHA256)
	}
	return &Submission{rec: rec, p: p}, nil
}

// Await waits until each submission is acknowledged, in order, and returns
// their records. A record is acknowledged once a kept checkpoint (durable,
// with its witnesses' cosignatures) covers its entry, and it is indexed;
// the record then holds its entry, its index, the checkpoint it was
// published with (Published, Checkpoint), and, with a time-stamping
// authority, that checkpoint has been time-stamped or its token is
// pending. When the witness quorum fails closed, Await returns a
// *trust.NoQuorumError (wrapping trust.ErrNoQuorum) once
// OpenOptions.WitnessWait has passed: the entry is in
// the log and is published, and indexed, once the witnesses cosign.
//
// On error, the records acknowledged before are returned. Submissions not
// acknowledged stay in the log all the same; a later Await may acknowledge
// them.
func (a *Archive) Await(ctx context.Context, subs ...*Submission) ([]*record.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, appendTimeout)
	defer cancel()
	out := make([]*record.Record, 0, len(subs))
	for _, s := range subs {
		r, err := a.await(ctx, s)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Log is Submit and Await for one statement.
func (a *Archive) Log(ctx context.Context, st any) (*record.Record, error) {
	s, err := a.Submit(ctx, st)
	if err != nil {
		return nil, err
	}
	rs, err := a.Await(ctx, s)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// appendTimeout bounds the wait for a checkpoint covering a new entry.
const appendTimeout = 2 * time.Minute

func (a *Archive) await(ctx context.Context, s *Submission) (*record.Record, error) {
	if s.done {
		return s.out, s.err
	}
	var idx uint64
	err := a.whileDBUp(ctx, "waiting for the log to sequence the entry", func(context.Context) (err error) {
		idx, err = a.writer.Index(s.p)
		return err
	})
	if err != nil {
		return nil, mayBeLogged(err, s.rec.ID, s.rec.SHA256)
	}
	s.rec.Index = idx
	a.follow.hold(s.rec)
	var pub ledger.Published
	err = a.whileDBUp(ctx, fmt.Sprintf("waiting for a kept checkpoint covering entry %d", idx), func(ctx context.Context) (err error) {
		pub, err = a.waitCovered(ctx, s.rec)
		return err
	})
	if err != nil {
		return nil, mayBeLogged(err, s.rec.ID, s.rec.SHA256)
	}
	err = a.whileDBUp(ctx, fmt.Sprintf("waiting for entry %d to be indexed", idx), func(ctx context.Context) error {
		return a.follow.waitIndexed(ctx, idx)
	})
	if err != nil {
		return nil, mayBeLogged(err, s.rec.ID, s.rec.SHA256)
	}
	if pub.Signed == nil {
		if pub.Signed, err = a.kept.Get(ctx, pub.Size); err != nil {
			return nil, err
		}
	}
	if a.stamper != nil {
		a.stamper.WaitAttempt(ctx, pub.Size)
	}
	r := *s.rec
	r.Published, r.Checkpoint = pub.Size, pub.Signed
	s.done, s.out = true, &r
	return &r, nil
}

// waitCovered waits for a kept checkpoint covering the record's entry,
// within the witness wait when witnessing fails closed, so that a missing
// quorum is a clear error rather than a long wait. (When the checkpoints
// cannot be kept, that is the error, not the witnesses.)
func (a *Archive) waitCovered(ctx context.Context, r *record.Record) (ledger.Published, error) {
	if a.trust.Policy == nil || a.trust.FailOpen {
		return a.writer.WaitCovered(ctx, r.Index)
	}
	wctx, cancel := context.WithTimeout(ctx, a.trust.WitnessWait)
	defer cancel()
	pub, err := a.writer.WaitCovered(wctx, r.Index)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && a.writer.KeepErr() == nil {
		return pub, &trust.NoQuorumError{RecordID: r.ID, Quorum: a.trust.Policy.Quorum, Waited: a.trust.WitnessWait, Witnesses: trust.ProbeWitnesses(ctx, a.trust.Policy)}
	}
	return pub, err
}
