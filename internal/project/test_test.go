package project

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadTests(t *testing.T) {
	p, err := load(t, FileHCL, `defaults {
  regions = ["us-east-1"]
  test "boot" {
    command = ["./tests/check.sh", "-v"]
    dirs    = ["tests"]
  }
  test "smoke" {
    command = ["true"]
  }
}
image "base" {
  template = "images/base/base.json"
  test "boot" {
    template = "tests/boot.pkr.hcl"
    vars     = { size = "small" }
    timeout  = "20m"
  }
}
image "other" {
  template = "images/other/other.json"
}
`)
	if err != nil {
		t.Fatal(err)
	}
	base, other := p.Images[0], p.Images[1]
	if len(base.Tests) != 2 || base.Tests[0].Name != "boot" || base.Tests[1].Name != "smoke" {
		t.Fatalf("base tests = %+v", base.Tests)
	}
	boot := base.Tests[0]
	if boot.Template != filepath.Join(p.Dir, "tests/boot.pkr.hcl") || boot.Var != DefaultParentVar || boot.Timeout != 20*time.Minute || boot.Vars["size"] != "small" || boot.Command != nil {
		t.Errorf("base's boot = %+v: want its own, replacing the default's", boot)
	}
	if len(other.Tests) != 2 {
		t.Fatalf("other tests = %+v", other.Tests)
	}
	ob := other.Tests[0]
	if ob.Command[0] != "./tests/check.sh" || ob.Dirs[0] != filepath.Join(p.Dir, "tests") || ob.Timeout != DefaultTestTimeout {
		t.Errorf("other's boot = %+v: want the default's", ob)
	}
}

func TestLoadTestErrors(t *testing.T) {
	img := func(test string) string {
		return "image \"base\" {\n  template = \"images/base/base.json\"\n  regions = [\"us-east-1\"]\n" + test + "}\n"
	}
	tests := []struct{ name, test, want string }{
		{"unknown attribute", "  test \"t\" {\n    command = [\"true\"]\n    colour = \"red\"\n  }\n",
			`bakery.hcl:6,5-11: Unsupported argument; An argument named "colour" is not expected here.`},
		{"both", "  test \"t\" {\n    command = [\"true\"]\n    template = \"t.pkr.hcl\"\n  }\n",
			`bakery.hcl:4,3-11: test "t" sets both template and command; give one of them`},
		{"neither", "  test \"t\" {\n    dirs = [\"x\"]\n  }\n",
			`bakery.hcl:4,3-11: test "t" has neither template nor command`},
		{"bad timeout", "  test \"t\" {\n    command = [\"true\"]\n    timeout = \"soon\"\n  }\n",
			`bakery.hcl:6,5-21: test "t": invalid timeout "soon"`},
		{"negative timeout", "  test \"t\" {\n    command = [\"true\"]\n    timeout = \"-1m\"\n  }\n",
			`bakery.hcl:6,5-20: test "t": invalid timeout "-1m"`},
		{"duplicate", "  test \"t\" {\n    command = [\"true\"]\n  }\n  test \"t\" {\n    command = [\"false\"]\n  }\n",
			`bakery.hcl:7,8-11: duplicate test "t"`},
		{"no label", "  test {\n    command = [\"true\"]\n  }\n",
			`bakery.hcl:4,8-9: Missing name for test`},
		{"vars on a command", "  test \"t\" {\n    command = [\"true\"]\n    vars = { a = \"b\" }\n  }\n",
			`bakery.hcl:6,5-23: test "t": vars and var are for a template test`},
		{"vars sets the AMI var", "  test \"t\" {\n    template = \"t.pkr.hcl\"\n    vars = { source_ami = \"ami-1\" }\n  }\n",
			`bakery.hcl:6,5-36: test "t": vars sets source_ami`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, FileHCL, img(tt.test))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.HasPrefix(err.Error(), "loading project: "+tt.want) {
				t.Errorf("error = %q\nwant prefix %q", err, "loading project: "+tt.want)
			}
		})
	}
}
