package options

import (
	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Project names the project file of many images (bakery.hcl).
type Project struct {
	Config string
}

// AddFlags registers --config.
func (p *Project) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.Config, "config", "", "project file of many images (default: "+project.FileHCL+" or "+project.FileJSON+
		" in the working directory, when no --template is given)")
	BindEnv(fs, "config", "AMI_BAKERY_CONFIG")
}

// Path returns the project file to use, or "" for the single-template
// mode: --config when given, else bakery.hcl or bakery.json in the working
// directory when the definition names no template.
func (p *Project) Path(d *Definition) (string, error) {
	if p.Config != "" {
		if d.Template != "" {
			return "", usererr.WithHint(usererr.Usagef("both a project file (--config) and a template (--template) are given"),
				"give one: --config for a project of many images, --template for one image; check AMI_BAKERY_CONFIG and PACKER_JSON_PATH")
		}
		return p.Config, nil
	}
	if d.Template != "" {
		return "", nil
	}
	return project.Find(".")
}
