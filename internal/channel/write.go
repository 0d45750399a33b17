package channel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Move is one channel parameter to write in one region.
type Move struct {
	Image, Channel, Region string
	Param                  string
	Client                 SSM
	// AMI and Fingerprint are what the channel is to hold; Kind is
	// KindPromote or KindRollback; Note ends the version's description.
	AMI, Fingerprint string
	Kind             string
	Note             string
	// History is the parameter as read before: its head is put back if a
	// later move fails; without versions the parameter is deleted.
	History History
	// Version is the version written (Apply sets it).
	Version int64

	// written counts the versions this run wrote to Param (the move, then
	// its put-back): each pushed one more of History's oldest out of
	// SSM's 100.
	written int
}

// Noop reports whether the channel holds the AMI already: a rerun writes
// nothing.
func (m *Move) Noop() bool {
	head, ok := m.History.Head()
	return ok && head.AMI == m.AMI
}

// Writer writes moves.
type Writer struct {
	// Timeout bounds the wait for a written version to become visible
	// (EC2 validates an aws:ec2:image value first); Poll is the wait
	// between reads.
	Timeout, Poll time.Duration
	// Log is told of every write and every put-back.
	Log func(format string, args ...any)
}

// Apply writes every move that is not a no-op, in order, all or nothing:
// when one fails, each parameter already written is put back (its old head
// written again as a rollback, or deleted when it did not exist) and the
// error says what was put back. The moves' Version fields record what was
// written.
func (w *Writer) Apply(ctx context.Context, moves []*Move) error {
	var done []*Move
	for _, m := range moves {
		if m.Noop() {
			continue
		}
		if err := recheck(ctx, m); err != nil {
			err = fmt.Errorf("image %s: channel %s: %w", m.Image, m.Channel, err)
			return errors.Join(err, w.undo(ctx, done))
		}
		v, err := w.write(ctx, m, m.AMI, m.Fingerprint, m.Kind, m.Note)
		if v != 0 {
			m.Version = v
			done = append(done, m) // written, even if not yet visible or labelled
		}
		if err != nil {
			err = fmt.Errorf("image %s: channel %s: %w", m.Image, m.Channel, err)
			return errors.Join(err, w.undo(ctx, done))
		}
	}
	return nil
}

// recheck reads the parameter again right before it is written: when it
// no longer holds what the gates were checked against (another promote, or
// a person, wrote it since), the move is refused.
func recheck(ctx context.Context, m *Move) error {
	want, existed := m.History.Head()
	out, err := m.Client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(m.Param)})
	switch {
	case ssm.IsParameterNotFound(err):
		if !existed {
			return nil
		}
		return usererr.WithHint(fmt.Errorf("SSM parameter %s in %s was deleted since it was read", m.Param, m.Region), "run the command again")
	case err != nil:
		return fmt.Errorf("reading SSM parameter %s in %s again before writing it: %w", m.Param, m.Region, err)
	}
	if got := out.Parameter; !existed || got.Version != want.Number {
		return usererr.WithHint(fmt.Errorf("SSM parameter %s in %s changed since it was read (now version %d, %s): something else wrote it", m.Param, m.Region, got.Version, aws.ToString(got.Value)),
			"run the command again: its gates are checked against what the channel holds then")
	}
	return nil
}

// undo puts back each move in done, newest first. A put-back that fails is
// reported with how to do it by hand; the others are still tried.
func (w *Writer) undo(ctx context.Context, done []*Move) error {
	// Putting back must happen even when ctx was cancelled (an interrupt):
	// it gets its own time.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*w.timeout()+30*time.Second)
	defer cancel()
	var errs []error
	for _, m := range slices.Backward(done) {
		head, existed := m.History.Head()
		var err error
		if existed {
			w.log("putting back %s in %s: %s", m.Param, m.Region, head.AMI)
			_, err = w.write(ctx, m, head.AMI, head.Fingerprint, KindRollback, "undo="+fmt.Sprint(m.Version))
		} else {
			w.log("putting back %s in %s: deleting it, as it did not exist", m.Param, m.Region)
			_, err = m.Client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(m.Param)})
		}
		if err != nil {
			fix := fmt.Sprintf("aws ssm delete-parameter --region %s --name %s", m.Region, m.Param)
			if existed {
				fix = fmt.Sprintf("aws ssm put-parameter --region %s --name %s --type String --data-type aws:ec2:image --overwrite --value %s", m.Region, m.Param, head.AMI)
			}
			errs = append(errs, usererr.WithHint(fmt.Errorf("putting back SSM parameter %s in %s after the failure: %w", m.Param, m.Region, err), "%s", fix))
		}
	}
	if len(errs) == 0 && len(done) > 0 {
		return fmt.Errorf("nothing changed: the %d parameters written before the failure were put back", len(done))
	}
	return errors.Join(errs...)
}

// write writes one version and labels it with its fingerprint. A
// parameter at SSM's 100 versions whose oldest is labelled cannot take
// another, so that version's labels are removed first. The oldest is the
// first version of History that this run's writes have not pushed out
// already: putting back a move at 100 versions finds the next one.
func (w *Writer) write(ctx context.Context, m *Move, ami, fp, kind, note string) (int64, error) {
	if n := len(m.History.Versions) + m.written; n >= maxVersions && n-maxVersions < len(m.History.Versions) {
		if oldest := m.History.Versions[n-maxVersions]; len(oldest.Labels) > 0 {
			if _, err := m.Client.UnlabelParameterVersion(ctx, &ssm.UnlabelParameterVersionInput{
				Name: aws.String(m.Param), ParameterVersion: aws.Int64(oldest.Number), Labels: oldest.Labels,
			}); err != nil {
				return 0, fmt.Errorf("unlabelling version %d of SSM parameter %s in %s, the oldest of 100, to make room: %w", oldest.Number, m.Param, m.Region, err)
			}
		}
	}
	w.log("writing %s in %s: %s (%s)", m.Param, m.Region, ami, kind)
	v, err := report.PutImageParameter(ctx, m.Client, m.Region, m.Param, ami, description(kind, fp, note), w.Timeout, w.Poll)
	if v != 0 {
		m.written++
	}
	if err != nil {
		return v, err
	}
	if fp == "" {
		return v, nil
	}
	out, err := m.Client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{
		Name: aws.String(m.Param), ParameterVersion: aws.Int64(v), Labels: []string{Label(fp)},
	})
	if err != nil {
		return v, fmt.Errorf("labelling version %d of SSM parameter %s in %s: %w", v, m.Param, m.Region, err)
	}
	if len(out.InvalidLabels) > 0 {
		return v, fmt.Errorf("labelling version %d of SSM parameter %s in %s: SSM refused the labels %v", v, m.Param, m.Region, out.InvalidLabels)
	}
	return v, nil
}

func (w *Writer) timeout() time.Duration {
	if w.Timeout > 0 {
		return w.Timeout
	}
	return report.DefaultPublishTimeout
}

func (w *Writer) log(format string, args ...any) {
	if w.Log != nil {
		w.Log(format, args...)
	}
}
