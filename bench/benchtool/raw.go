//go:build linux

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rawDescribe makes one signed DescribeImages call and prints the first
// image id of the answer.
func rawDescribe(endpoint, region, tagKey, fingerprint string) error {
	body := url.Values{
		"Action": {"DescribeImages"}, "Version": {"2016-11-15"}, "Owner.1": {"self"},
		"Filter.1.Name": {"tag:" + tagKey}, "Filter.1.Value.1": {fingerprint},
		"Filter.2.Name": {"state"}, "Filter.2.Value.1": {"available"}, "Filter.2.Value.2": {"pending"},
	}.Encode()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ec2", region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("raw-describe: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("raw-describe: %s\n%s", resp.Status, out)
	}
	m := regexp.MustCompile(`<imageId>([^<]*)</imageId>`).FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("raw-describe: no image in the answer:\n%s", out)
	}
	fmt.Printf("%s\n", m[1])
	return nil
}
