package channel

import (
	"context"
	"fmt"
	"time"
)

// PlanRollback decides, in every region of img, the move that takes the
// channel back to the promotion before its head (History.Promoted),
// skipping every AMI since deregistered, disabled, deprecated or revoked,
// and every AMI in avoid. It changes nothing. A region whose channel has
// no such earlier promotion is an error wrapping ErrNothingEarlier.
func PlanRollback(ctx context.Context, img *Image, ch *Channel, avoid map[string]bool, now time.Time) ([]*Move, error) {
	var moves []*Move
	for _, region := range img.Regions {
		m, err := rollbackMove(ctx, img, ch, region, avoid, now)
		if err != nil {
			return nil, fmt.Errorf("image %s: channel %s in %s: %w", img.Name, ch.Name, region, err)
		}
		moves = append(moves, m)
	}
	return moves, nil
}

// ErrNothingEarlier is wrapped when a channel has no earlier promotion to
// go back to.
var ErrNothingEarlier = fmt.Errorf("no earlier promoted version to go back to")

func rollbackMove(ctx context.Context, img *Image, ch *Channel, region string, avoid map[string]bool, now time.Time) (*Move, error) {
	hist, err := Read(ctx, img.SSM(region), img.Param(ch))
	if err != nil {
		return nil, err
	}
	return rollbackFrom(ctx, img, ch, region, hist, avoid, now)
}

// rollbackFrom is rollbackMove with the history read.
func rollbackFrom(ctx context.Context, img *Image, ch *Channel, region string, hist History, avoid map[string]bool, now time.Time) (*Move, error) {
	param := hist.Param
	head, ok := hist.Head()
	if !ok {
		return nil, fmt.Errorf("%s does not exist: %w", param, ErrNothingEarlier)
	}
	stack := hist.Promoted()
	for i := len(stack) - 2; i >= 0; i-- {
		v := stack[i]
		if v.AMI == head.AMI || avoid[v.AMI] {
			continue
		}
		im, found, err := describe(ctx, img.EC2(region), v.AMI)
		if err != nil {
			return nil, err
		}
		if !found || unusable(im, now) != "" || tag(im, TagRevoked) != "" {
			continue
		}
		fp := v.Fingerprint
		if fp == "" {
			fp = tag(im, img.TagKey)
		}
		return &Move{
			Image: img.Name, Channel: ch.Name, Region: region, Param: param, Client: img.SSM(region),
			AMI: v.AMI, Fingerprint: fp, Kind: KindRollback, Note: "was=" + head.AMI, History: hist,
		}, nil
	}
	return nil, fmt.Errorf("%s holds %s: %w (every earlier one is gone, disabled, deprecated or revoked)", param, head.AMI, ErrNothingEarlier)
}
