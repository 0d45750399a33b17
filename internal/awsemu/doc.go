// Package awsemu is a stateful, in-memory AWS for tests and demos: the
// services ami-bakery uses, speaking their real wire protocols over HTTP, so
// that the real clients (aws-sdk-go-v2, the aws-sdk-go v1 inside packer, the
// aws CLI) can be pointed at it unchanged: EC2 (images, instances, launch
// templates, ...), SSM Parameter Store, Auto Scaling and a minimal STS.
//
// # Services
//
// One Emulator holds the state every service shares: accounts, regions
// (regionState), one clock, the call log and the faults. Each service is a
// file group: ec2.go and ec2_*.go (one file per kind of resource, with the
// describe pipeline in ec2_describe.go), ssm*.go, autoscaling*.go, sts.go.
// ServeHTTP routes a request by the service named in its SigV4 credential
// scope (AKID/DATE/REGION/SERVICE/aws4_request) through the services map in
// server.go; a request for a service not listed (or unsigned) goes to EC2,
// which refuses it as EC2 would.
//
// Adding a service is a new file group with a serveX method added to
// services. serveX reads the caller with admit (the account and region of
// the scope, or why the request is refused: the service words that in its
// own codes), looks the action up in its own action map, calls injectFault
// and then runs the handler with locked, which holds the lock, settles the
// region to the clock and passes a request (account, region, the Query
// params or a JSON body, now, the regionState). Its state goes into
// regionState, so Reset and the clock cover it. Query services (Auto
// Scaling) read params and answer XML (writeQueryResult, queryError); JSON
// services (SSM) read X-Amz-Target and decode the body with decodeJSON,
// which refuses unknown fields. clientError makes their errors, paging.go
// pages lists sorted by name. Every service records its calls
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
// snapshots, volumes, instances, key pairs, security groups, launch
// templates, and a default VPC with one default subnet per availability
// zone for every (account, region). Every region is seeded with a few
// public images owned by AmazonAccount (see SeedImageID). An account sees
// its own images, public images and images shared with it through launch
// permissions: with the account, its organization or one of its OUs
// (SetOrganization; ec2_sharing.go). Snapshots carry create-volume
// permissions, and DeleteSnapshot refuses a snapshot an image uses
// (InvalidSnapshot.InUse). Minimal KMS keys (kms.go, PutKMSKey) let
// CopyImage encrypt with a chosen key, and fail as EC2 does when the key is
// missing, refused or pending deletion. Tags belong to the account that
// wrote them: an account may tag an image it can see but does not own, and
// only that account sees (and filters by) those tags.
//
// Instances move pending -> running, stopping -> stopped and shutting-down ->
// terminated, and images and snapshots pending -> available/completed, after
// Options.PendingDelay. Terminated instances stay visible for
// Options.TerminatedRetention.
//
// Images retire as EC2 lets them (ec2_images_lifecycle.go): deprecation
// times (a deprecated image leaves other accounts' DescribeImages listings
// unless IncludeDeprecated or named by id), DisableImage (state disabled,
// launch permissions gone, listed only with IncludeDisabled),
// deregistration protection with its 24-hour cooldown, and the last launch
// time RunInstances records. Launch templates keep numbered versions, a
// default, ClientToken idempotency, and resolve:ssm: image ids that
// DescribeLaunchTemplateVersions resolves with ResolveAlias
// (ec2_launchtemplates*.go).
//
// SSM (ssm*.go, JSON 1.1 protocol) keeps String and StringList parameters
// per account and region with versions (the 100 newest; the 101st write
// fails with ParameterMaxVersionLimitExceeded when the oldest has a label),
// labels (LabelParameterVersion, UnlabelParameterVersion: unique per
// parameter, at most 10 a version, AWS's label rules with InvalidLabels),
// GetParameterHistory with paging, GetParameter and GetParameters with
// :VERSION and :LABEL selectors, GetParametersByPath with paging,
// DescribeParameters (every own name, best-effort pages with
// Options.SSMShortPages), and public parameters under /aws/service/
// (SetPublicParameter) every account reads.
// DataType aws:ec2:image is validated asynchronously as in AWS: PutParameter
// succeeds, and the version becomes visible Options.SSMValidationDelay later
// if it names an image the account sees, never with
// Options.SSMNeverValidates (a caller without ec2:DescribeImages), and is
// dropped if validation fails.
//
// Auto Scaling (autoscaling*.go, Query protocol 2011-01-01) keeps launch
// configurations and groups launched by a launch configuration, a launch
// template or a mixed instances policy; groups launch no instances.
//
// # What is refused
//
// Anything not modelled is an explicit error, never a silent success or a
// silent match-all: an unknown action is InvalidAction, an unknown filter
// name or attribute is InvalidParameterValue, and features such as
// instance-store AMIs, KMS keys on block device mappings or PPK key formats
// are UnsupportedOperation (so are the LaunchTemplateData fields beyond
// ImageId, InstanceType, KeyName, UserData and SecurityGroupId). SSM refuses
// SecureString, tiers other than Standard, tags, policies, parameter ARNs
// as names and ParameterFilters with ValidationException; Auto Scaling refuses any
// parameter it does not model with ValidationError; an unknown SSM action
// is UnknownOperationException, an unknown Auto Scaling action
// InvalidAction. One code is a guess: EC2 documents no error code for
// deregistering a protected image; the emulator answers
// OperationNotPermitted. SSM has three guesses (ssm_labels.go,
// ssm_parameters.go): a ":LABEL" selector no version carries is
// ParameterNotFound (GetParameters lists it in InvalidParameters), and
// GetParameterHistory lists oldest first, 50 a page by default, as AWS
// documents neither. EC2's limits on filters are enforced as EC2 does,
// with FilterLimitExceeded: at most 200 values in one call, none longer than
// 255 characters. Parameters that only tune behaviour EC2 would hide
// from a client (ClientToken on actions without idempotency, MetadataOptions,
// UserData, IamInstanceProfile) are accepted and recorded or ignored.
//
// # Test hooks
//
// Tests get a call log (Calls, CallCount), fault injection (SetFaults),
// eventual consistency of tags (Options.TagVisibilityDelay), one clock
// (Options.Clock, Advance, Now) to pass delays without sleeping, state
// inspection (Images, Instances, NonTerminatedInstances, KeyPairs,
// SecurityGroups, Snapshots, Volumes, Parameters, ParameterLabels) and direct set-up
// (PutImage, SetImageState, SetPublicParameter, SetSSMValidation), and Reset to go back to
// the seeded state (the clock keeps its time). NewTestServer starts an
// emulator for a test and hands out SDK clients (TestServer.EC2, STS, SSM,
// AutoScaling) for any account and region; other SDK clients in tests
// should use HTTPClient (see there for the race it avoids).
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
