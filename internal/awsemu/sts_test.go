package awsemu

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Assuming a role in another account makes the caller act as that account,
// through the SDK's own AssumeRole credential provider.
func TestSTSAssumeRole(t *testing.T) {
	emu := NewTestServer(t)
	stsClient := emu.STS(DefaultAccount, "us-east-1")
	ctx := context.Background()

	id, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != DefaultAccount {
		t.Fatalf("GetCallerIdentity: %v %v", id, err)
	}

	const build = "210987654321"
	role := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, "arn:aws:iam::"+build+":role/ami-builder"))
	c := emu.EC2(DefaultAccount, "us-east-1", func(o *ec2.Options) { o.Credentials = role })
	if _, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("in-build-account")}); err != nil {
		t.Fatal(err)
	}
	if kps := emu.KeyPairs(build, "us-east-1"); len(kps) != 1 {
		t.Errorf("key pairs in the role's account: %v", kps)
	}
	if kps := emu.KeyPairs(DefaultAccount, "us-east-1"); len(kps) != 0 {
		t.Errorf("key pairs in the caller's account: %v", kps)
	}

	denied := stscreds.NewAssumeRoleProvider(stsClient, "arn:aws:iam::"+build+":role/denied-role")
	_, err = denied.Retrieve(ctx)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Errorf("denied role: %v", err)
	}
	if _, err := stscreds.NewAssumeRoleProvider(stsClient, "not-an-arn").Retrieve(ctx); err == nil {
		t.Error("malformed ARN accepted")
	}
}

// GetCallerIdentity needs no permission in AWS: even credentials refused
// everything else may call it.
func TestSTSCallerIdentityNeedsNoPermission(t *testing.T) {
	emu := NewTestServer(t)
	c := sts.NewFromConfig(emu.Config(DefaultAccount, "us-east-1"), func(o *sts.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: DeniedKeyPrefix + "0000000000", SecretAccessKey: "x"}, nil
		})
	})
	if _, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("GetCallerIdentity with denied credentials: %v", err)
	}
}
