package options

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/internal/packer"
)

// Regions are offered by shell completion for --region and --regions.
// Validation does not use the list: a region launched after this release
// must still work.
var Regions = []string{
	"af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
	"me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
	"us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2",
}

// flagValues are the values shell completion offers, per flag name.
var flagValues = map[string][]string{
	"region":     Regions,
	"regions":    Regions,
	"algorithm":  {"v2", "v1"},
	"lookup":     {"tag", "name"},
	"on-error":   packer.OnErrorValues,
	"log-format": {"text", "json"},
}

// RegisterCompletions makes shell completion offer the allowed values of
// every flag of cmd and its subcommands that has a fixed set.
func RegisterCompletions(cmd *cobra.Command) {
	for name, values := range flagValues {
		if cmd.Flags().Lookup(name) == nil {
			continue
		}
		vs := values
		// Registering twice is the only error, and each flag is visited once.
		_ = cmd.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
			var out []string
			for _, v := range vs {
				if strings.HasPrefix(v, prefix) {
					out = append(out, v)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		})
	}
	for _, sub := range cmd.Commands() {
		RegisterCompletions(sub)
	}
}
