package awsemu

import (
	"time"
)

// Image lifecycle after creation, as EC2 models it for retiring AMIs:
//
//   - Deprecation (EnableImageDeprecation, DisableImageDeprecation): an
//     image whose deprecation time has passed is hidden from DescribeImages
//     for every account but its owner, unless the caller names it by id or
//     sets IncludeDeprecated. The time is rounded to the minute and may be at
//     most 10 years ahead; it can lie in the past (deprecate now).
//   - Disabling (DisableImage, EnableImage): state "disabled", every launch
//     permission removed (so only the owner sees it), hidden from
//     DescribeImages unless IncludeDisabled, refused by RunInstances and by
//     sharing. EnableImage makes it available again, still private.
//   - Deregistration protection (Enable/DisableImageDeregistrationProtection):
//     DeregisterImage is refused while protected. WithCooldown keeps the
//     protection for 24 hours after it is disabled.
//   - LastLaunchedTime: set by RunInstances at once (EC2 reports it up to 24
//     hours late), shown to the owner only.

const (
	maxDeprecationAhead = 10 * 365 * 24 * time.Hour
	protectionCooldown  = 24 * time.Hour
)

// lifecycle is the part of an image these actions change.
type lifecycle struct {
	deprecateAt time.Time
	// protected is deregistration protection; cooldown, that disabling it
	// leaves it in force until unprotectAt.
	protected, cooldown bool
	unprotectAt         time.Time
	lastLaunched        time.Time
}

func (l *lifecycle) deprecated(now time.Time) bool { return due(l.deprecateAt, now) }

func (l *lifecycle) deregistrationProtected(now time.Time) bool {
	return l.protected || now.Before(l.unprotectAt)
}

// protectionValue is the deregistrationProtection value EC2 shows.
func (l *lifecycle) protectionValue(now time.Time) string {
	switch {
	case l.protected && l.cooldown:
		return "enabled-with-cooldown"
	case l.protected:
		return "enabled"
	case now.Before(l.unprotectAt):
		return "disabled-until " + awsTime(l.unprotectAt)
	}
	return "disabled"
}

// hiddenFromListing tells whether DescribeImages leaves im out when the
// caller names no ids.
func (r *request) hiddenFromListing(im *image, includeDeprecated, includeDisabled bool) bool {
	if im.state == "disabled" && !includeDisabled {
		return true
	}
	return im.deprecated(r.now) && im.owner != r.account && !includeDeprecated
}

func enableImageDeprecation(r *request) (any, error) {
	im, err := r.ownImageParam()
	if err != nil {
		return nil, err
	}
	raw, err := r.p.required("DeprecateAt")
	if err != nil {
		return nil, err
	}
	at, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return nil, invalidParameter("Invalid value '%s' for DeprecateAt. Expected a date-time in the format YYYY-MM-DDTHH:MM:SSZ", raw)
	}
	at = at.UTC().Round(time.Minute)
	if at.After(r.now.Add(maxDeprecationAhead)) {
		return nil, invalidParameter("The deprecation time can't be more than 10 years in the future")
	}
	im.deprecateAt = at
	return &returnResponse{Return: true}, nil
}

func disableImageDeprecation(r *request) (any, error) {
	return r.changeOwnImage(func(im *image) error { im.deprecateAt = time.Time{}; return nil })
}

func disableImage(r *request) (any, error) {
	return r.changeOwnImage(func(im *image) error {
		if im.state != "available" && im.state != "disabled" {
			return errorf("IncorrectState", "The image '%s' is %s and cannot be disabled", im.id, im.state)
		}
		im.state = "disabled"
		im.public, im.sharedWith, im.orgs, im.ous = false, nil, nil, nil
		return nil
	})
}

func enableImage(r *request) (any, error) {
	return r.changeOwnImage(func(im *image) error {
		if im.state != "disabled" {
			return errorf("IncorrectState", "The image '%s' is %s, not disabled", im.id, im.state)
		}
		im.state = "available"
		return nil
	})
}

func enableImageDeregistrationProtection(r *request) (any, error) {
	im, err := r.ownImageParam()
	if err != nil {
		return nil, err
	}
	cooldown, err := r.p.boolean("WithCooldown", false)
	if err != nil {
		return nil, err
	}
	im.protected, im.cooldown, im.unprotectAt = true, cooldown, time.Time{}
	return &returnResponse{Return: true}, nil
}

func disableImageDeregistrationProtection(r *request) (any, error) {
	return r.changeOwnImage(func(im *image) error {
		if im.protected && im.cooldown {
			im.unprotectAt = r.now.Add(protectionCooldown)
		}
		im.protected, im.cooldown = false, false
		return nil
	})
}

// changeOwnImage applies change to the caller's image named by ImageId and
// answers EC2's plain "return true".
func (r *request) changeOwnImage(change func(im *image) error) (any, error) {
	im, err := r.ownImageParam()
	if err != nil {
		return nil, err
	}
	if err := change(im); err != nil {
		return nil, err
	}
	return &returnResponse{Return: true}, nil
}

// checkDeregistrable refuses to deregister a protected image.
func (r *request) checkDeregistrable(im *image) error {
	if im.deregistrationProtected(r.now) {
		return errorf("OperationNotPermitted", "Deregistration protection is enabled for image '%s' (%s); disable it first", im.id, im.protectionValue(r.now))
	}
	return nil
}
