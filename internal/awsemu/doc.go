// Package awsemu is a stateful, in-memory AWS for tests and demos: the
// services ami-bakery uses, speaking their real wire protocols over HTTP, so
// that the real clients (aws-sdk-go-v2, the aws-sdk-go v1 inside packer, the
// aws CLI) can be pointed at it unchanged. Today that is EC2 and a minimal
// STS.
//
// # Services
//
// One Emulator holds the state every service shares: accounts, regions
// (regionState), one clock, the call log and the faults. Each service is a
// file group: ec2.go and ec2_*.go (one file per kind of resource, with the
// describe pipeline in ec2_describe.go), sts.go. ServeHTTP routes a request
// by the service named in its SigV4 credential scope
// (AKID/DATE/REGION/SERVICE/aws4_request) through the services map in
// server.go; a request for a service not listed (or unsigned) goes to EC2,
// which refuses it as EC2 would. Adding a service (SSM, Auto Scaling, ...)
// is a new file group with a serveX method added to services; its state
// goes into regionState, so Reset and the region's clock cover it. Query
// services (Auto Scaling) reuse params; JSON services (SSM) read the
// X-Amz-Target header instead of Action. Every service records its calls
// (Call.Action) so tests can count them.
//
// # EC2 protocol
//
// Requests are POST (or GET) form-encoded "Action=...&Version=2016-11-15&..."
// with EC2's list style (ImageId.1, Filter.1.Name, Filter.1.Value.1, ...).
// Responses are XML in the 2016-11-15 namespace, element for element as EC2
// returns them; errors use EC2's <Response><Errors><Error> envelope with the
// real error codes and HTTP statuses.
//
// # Identity
//
// Signatures are not verified. The SigV4 credential scope names the caller:
// the access key id decides the account (its last 12 characters if they are
// digits, else DefaultAccount) and the scope's region the region. A request
// without credentials is refused with AuthFailure, a region outside
// KnownRegions with AuthFailure, and an access key starting with AKIDDENIED
// with UnauthorizedOperation.
//
// Requests signed for the service "sts" get a minimal STS (sts.go), in STS's
// own namespace and error envelope:
// GetCallerIdentity, and AssumeRole of any arn:aws:iam::ACCOUNT:role/NAME,
// whose temporary credentials act as ACCOUNT (a role named denied* is
// refused with AccessDenied).
//
// # What is modelled
//
// State is kept per region and scoped per owning account, as in EC2: images,
// snapshots, volumes, instances, key pairs, security groups, and a default VPC
// with one default subnet per availability zone for every (account, region).
// Every region is seeded with a few public images owned by AmazonAccount
// (see SeedImageID). An account sees its own images, public images and images
// shared with it through launch permissions: with the account, its
// organization or one of its OUs (SetOrganization; ec2_sharing.go).
// Snapshots carry create-volume permissions. Minimal KMS keys (kms.go,
// PutKMSKey) let CopyImage encrypt with a chosen key, and fail as EC2 does
// when the key is missing, refused or pending deletion. Tags belong to the account that
// wrote them: an account may tag an image it can see but does not own, and
// only that account sees (and filters by) those tags.
//
// Instances move pending -> running, stopping -> stopped and shutting-down ->
// terminated, and images and snapshots pending -> available/completed, after
// Options.PendingDelay. Terminated instances stay visible for
// Options.TerminatedRetention.
//
// # What is refused
//
// Anything not modelled is an explicit error, never a silent success or a
// silent match-all: an unknown action is InvalidAction, an unknown filter
// name or attribute is InvalidParameterValue, and features such as
// instance-store AMIs, KMS keys on block device mappings or PPK key formats
// are UnsupportedOperation. EC2's limits on filters are enforced as EC2 does,
// with FilterLimitExceeded: at most 200 values in one call, none longer than
// 255 characters. Parameters that only tune behaviour EC2 would hide
// from a client (ClientToken on actions without idempotency, MetadataOptions,
// UserData, IamInstanceProfile) are accepted and recorded or ignored.
//
// # Test hooks
//
// Tests get a call log (Calls, CallCount), fault injection (SetFaults),
// eventual consistency of tags (Options.TagVisibilityDelay), state inspection
// (Images, Instances, NonTerminatedInstances, KeyPairs, SecurityGroups,
// Snapshots, Volumes) and direct set-up (PutImage, SetImageState), and Reset
// to go back to the seeded state. NewTestServer starts an emulator for a test
// and hands out SDK clients (TestServer.EC2, TestServer.STS) for any account
// and region; other SDK clients in tests should use HTTPClient (see there
// for the race it avoids).
//
// # Packer
//
// Packer 1.6.6's amazon-ebs builder runs against the emulator with
// custom_endpoint_ec2 set to its URL, skip_credential_validation,
// skip_region_validation and skip_metadata_api_check, communicator "none",
// and AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_POLL_DELAY_SECONDS=1
// and CHECKPOINT_DISABLE=1 in its environment; packer_test.go has the
// templates (JSON and HCL2) and the exact environment.
package awsemu
