package packer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func sample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "machine", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const nullString = "Did not export anything. This is the null builder"

// amazonEBS is what packer 1.6.6's amazon-ebs prints for a build with
// ami_regions, written from its artifact code: the id is "region:ami" pairs,
// sorted and joined by commas; the string has one line a region.
const amazonEBS = `1795773300,,ui,say,==> amazon-ebs: Creating AMI bakery-abc from instance i-0123456789abcdef0
1795773400,,ui,say,Build 'amazon-ebs' finished after 6 minutes 40 seconds.
1795773400,,ui,say,\n==> Builds finished. The artifacts of successful builds are:
1795773400,amazon-ebs,artifact-count,1
1795773400,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs
1795773400,amazon-ebs,artifact,0,id,eu-west-1:ami-0bbbbbbbbbbbbbbbb%!(PACKER_COMMA)us-east-1:ami-0aaaaaaaaaaaaaaaa
1795773400,amazon-ebs,artifact,0,string,AMIs were created:\neu-west-1: ami-0bbbbbbbbbbbbbbbb\nus-east-1: ami-0aaaaaaaaaaaaaaaa\n
1795773400,amazon-ebs,artifact,0,files-count,0
1795773400,amazon-ebs,artifact,0,end
1795773400,,ui,say,--> amazon-ebs: AMIs were created:\neu-west-1: ami-0bbbbbbbbbbbbbbbb\nus-east-1: ami-0aaaaaaaaaaaaaaaa\n
`

var amazonEBSArtifact = Artifact{
	Build:     "amazon-ebs",
	BuilderID: "mitchellh.amazonebs",
	ID:        "eu-west-1:ami-0bbbbbbbbbbbbbbbb,us-east-1:ami-0aaaaaaaaaaaaaaaa",
	AMIs:      map[string]string{"eu-west-1": "ami-0bbbbbbbbbbbbbbbb", "us-east-1": "ami-0aaaaaaaaaaaaaaaa"},
}

// artifactLines returns the lines of one artifact of build b.
func artifactLines(b, builderID, id string) string {
	return fmt.Sprintf("1,%[1]s,artifact,0,builder-id,%[2]s\n1,%[1]s,artifact,0,id,%[3]s\n1,%[1]s,artifact,0,end\n", b, builderID, id)
}

func TestParseMachineReadable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Artifact
		wantUI  []Line // nil: not checked
		wantErr string
	}{
		{
			name: "real null builder with shell-local output",
			in:   sample(t, "null-shell-local.txt"),
			want: []Artifact{{Build: "null", BuilderID: "fnoeding.null", ID: "Null"}},
			wantUI: []Line{
				{KindSay, "==> null: Running local shell script: /tmp/packer-shell1941445809"},
				{KindMessage, "    null: a, b"},
				{KindError, "==> null: line2"},
				{KindSay, "Build 'null' finished after 7 milliseconds 7 microseconds."},
				{KindSay, ""},
				{KindSay, "==> Wait completed after 7 milliseconds 40 microseconds"},
				{KindSay, ""},
				{KindSay, "==> Builds finished. The artifacts of successful builds are:"},
				{KindSay, "--> null: Did not export anything. This is the null builder"},
			},
		},
		{
			name: "real file builders, two builds",
			in:   sample(t, "file-two-builds.txt"),
			want: []Artifact{
				{Build: "f1", BuilderID: "packer.file", ID: "File"},
				{Build: "file", BuilderID: "packer.file", ID: "File"},
			},
		},
		{
			name: "real HCL2 directory",
			in:   sample(t, "hcl2-dir.txt"),
			want: []Artifact{{Build: "null.one", BuilderID: "fnoeding.null", ID: "Null"}},
		},
		{
			name: "real HCL2 named build",
			in:   sample(t, "hcl2-named-build.txt"),
			want: []Artifact{{Build: "bb.null.one", BuilderID: "fnoeding.null", ID: "Null"}},
		},
		{
			name: "real provisioner failure",
			in:   sample(t, "provisioner-failed.txt"),
			want: nil,
			wantUI: []Line{
				{KindSay, "==> null: Running local shell script: /tmp/packer-shell3591841079"},
				{KindSay, "==> null: Provisioning step had errors: Running the cleanup provisioner, if present..."},
				{KindError, "Build 'null' errored after 4 milliseconds 855 microseconds: Script exited with non-zero exit status: 3.Allowed exit codes are: [0]"},
				{KindSay, ""},
				{KindSay, "==> Wait completed after 4 milliseconds 900 microseconds"},
				{KindError, ""},
				{KindError, "==> Some builds didn't complete successfully and had errors:"},
				{KindError, "--> null: Script exited with non-zero exit status: 3.Allowed exit codes are: [0]"},
				{KindSay, ""},
				{KindSay, "==> Builds finished but no artifacts were created."},
			},
		},
		{
			name: "real unknown builder, multi-line error",
			in:   sample(t, "unknown-builder.txt"),
			wantUI: []Line{
				{KindError, `Error: Failed to initialize build "bogus"`},
				{KindError, ""},
				{KindError, "error initializing builder 'bogus': Unknown builder bogus"},
				{KindSay, ""},
				{KindSay, "==> Wait completed after 2 microseconds"},
				{KindSay, ""},
				{KindSay, "==> Builds finished but no artifacts were created."},
			},
		},
		{
			name: "real interrupt",
			in:   sample(t, "interrupted.txt"),
		},
		{
			name: "real amazon-ebs failure",
			in:   sample(t, "amazon-ebs-no-network.txt"),
		},
		{
			name: "amazon-ebs with ami_regions",
			in:   amazonEBS,
			want: []Artifact{amazonEBSArtifact},
		},
		{
			name: "amazon-ebs single region",
			in:   artifactLines("amazon-ebs.main", "mitchellh.amazonebs", "us-east-1:ami-0123abcd"),
			want: []Artifact{{Build: "amazon-ebs.main", BuilderID: "mitchellh.amazonebs", ID: "us-east-1:ami-0123abcd", AMIs: map[string]string{"us-east-1": "ami-0123abcd"}}},
		},
		{
			name: "AMI ids from a post-processor are found too",
			in:   artifactLines("amazon-ebs", "packer.post-processor.amazon-import", "us-gov-west-1:ami-01"),
			want: []Artifact{{Build: "amazon-ebs", BuilderID: "packer.post-processor.amazon-import", ID: "us-gov-west-1:ami-01", AMIs: map[string]string{"us-gov-west-1": "ami-01"}}},
		},
		{
			name: "an id that merely contains a colon is no AMI",
			in:   artifactLines("docker", "packer.docker", "sha256:0123abcd"),
			want: []Artifact{{Build: "docker", BuilderID: "packer.docker", ID: "sha256:0123abcd"}},
		},
		{
			name: "escapes in ui text",
			in:   "1,,ui,message,    x: a%!(PACKER_COMMA) b\\nsecond\\r\\nthird\n1,,ui,say,trailing newline\\n\\n\n",
			wantUI: []Line{
				{KindMessage, "    x: a, b"},
				{KindMessage, "second"},
				{KindMessage, "third"},
				{KindSay, "trailing newline"},
			},
		},
		{
			name: "CRLF line endings",
			in:   "1,,ui,say,hello\r\n" + strings.ReplaceAll(artifactLines("amazon-ebs", "mitchellh.amazonebs", "us-east-1:ami-01"), "\n", "\r\n"),
			want: []Artifact{{Build: "amazon-ebs", BuilderID: "mitchellh.amazonebs", ID: "us-east-1:ami-01", AMIs: map[string]string{"us-east-1": "ami-01"}}},
			wantUI: []Line{
				{KindSay, "hello"},
			},
		},
		{
			name: "lines that are not machine-readable are passed on raw",
			in:   "panic: boom\n\n2020/01/01 log line\n1,,ui,weird,text\nx,,ui,say,no timestamp\n12345\n",
			wantUI: []Line{
				{KindRaw, "panic: boom"},
				{KindRaw, ""},
				{KindRaw, "2020/01/01 log line"},
				{KindRaw, "text"},
				{KindRaw, "x,,ui,say,no timestamp"},
				{KindRaw, "12345"},
			},
		},
		{
			name: "other message types are ignored",
			in:   "1,,error-count,1\n1,null,error,boom\n1,,version,1.6.6\n1,null,artifact,0,files-count,0\n1,null,artifact,0,x-custom,y\n1,null,artifact,0,builder-id,b\n1,null,artifact,0,id,i\n1,null,artifact,0,end\n",
			want: []Artifact{{Build: "null", BuilderID: "b", ID: "i"}},
		},
		{
			name: "empty output",
			in:   "",
		},
		{
			name:    "missing id",
			in:      "1,amazon-ebs,artifact-count,1\n1,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs\n1,amazon-ebs,artifact,0,end\n",
			wantErr: `packer output line 3: artifact of build "amazon-ebs" (mitchellh.amazonebs) ended without an id`,
		},
		{
			name:    "empty id",
			in:      artifactLines("amazon-ebs", "mitchellh.amazonebs", ""),
			wantErr: "ended without an id",
		},
		{
			name:    "missing builder-id",
			in:      "1,amazon-ebs,artifact,0,id,us-east-1:ami-01\n1,amazon-ebs,artifact,0,end\n",
			wantErr: `line 2: artifact of build "amazon-ebs" ended without a builder-id`,
		},
		{
			name:    "id line without a value",
			in:      "1,amazon-ebs,artifact,0,id\n",
			wantErr: `line 1: malformed artifact line for build "amazon-ebs": id without a value`,
		},
		{
			name:    "artifact index is not a number",
			in:      "1,amazon-ebs,artifact,x,id,y\n",
			wantErr: `line 1: malformed artifact line for build "amazon-ebs": no artifact index in "x,id,y"`,
		},
		{
			name:    "artifact line without data",
			in:      "1,amazon-ebs,artifact\n",
			wantErr: "no artifact index",
		},
		{
			name:    "artifact line without field",
			in:      "1,amazon-ebs,artifact,0\n",
			wantErr: "no field name",
		},
		{
			name:    "amazon builder with an id that is no AMI",
			in:      artifactLines("amazon-ebs", "mitchellh.amazonebs", "ami-01"),
			wantErr: `artifact id "ami-01" is not a list of region:ami-id pairs`,
		},
		{
			name:    "two AMIs for one region",
			in:      artifactLines("amazon-ebs", "mitchellh.amazonebs", "us-east-1:ami-01%!(PACKER_COMMA)us-east-1:ami-02"),
			wantErr: "names two AMIs for region us-east-1",
		},
		{
			name:    "artifact without end: packer stopped",
			in:      "1,,ui,say,hello\n1,amazon-ebs,artifact-count,1\n1,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs\n1,amazon-ebs,artifact,0,id,us-east-1:ami-01\n",
			wantErr: `packer output line 3: artifact of build "amazon-ebs" has no end line`,
		},
		{
			name:    "crash in the middle of a line",
			in:      "1,amazon-ebs,artifact-count,1\n1,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs\n1,amazon-ebs,artifact,0,id,us-ea",
			wantErr: "packer output line 3: output ended in the middle of a line (did packer crash?)",
		},
		{
			name:    "crash in the middle of a ui line",
			in:      "1,,ui,say,hel",
			wantUI:  []Line{{KindSay, "hel"}},
			wantErr: "line 1: output ended in the middle of a line",
		},
		{
			name:    "fewer artifacts than announced",
			in:      "1,null,artifact-count,2\n" + artifactLines("null", "fnoeding.null", "Null"),
			wantErr: `packer announced 2 artifacts for build "null" but reported 1`,
		},
		{
			name:    "malformed artifact-count",
			in:      "1,null,artifact-count,two\n",
			wantErr: `line 1: malformed artifact-count "two" for build "null"`,
		},
		{
			name:    "line after end",
			in:      artifactLines("null", "fnoeding.null", "Null") + "1,null,artifact,0,id,again\n",
			wantErr: `line 4: artifact 0 of build "null" has a "id" line after its end`,
		},
		{
			name:    "first error wins and the rest is still read",
			in:      "1,a,artifact,x,id,y\n1,b,artifact,y,id,z\n1,,ui,say,after\n",
			wantUI:  []Line{{KindSay, "after"}},
			wantErr: `line 1: malformed artifact line for build "a"`,
		},
		{
			name:    "too long artifact line",
			in:      "1,null,artifact,0,string," + strings.Repeat("x", maxLine) + "\n",
			wantErr: "is longer than 1048576 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ui []Line
			got, err := ParseMachineReadable(strings.NewReader(tt.in), func(l Line) { ui = append(ui, l) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("artifacts = %+v with an error, want nil", got)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("artifacts:\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.wantUI != nil && !reflect.DeepEqual(ui, tt.wantUI) {
				t.Errorf("ui lines:\n got %q\nwant %q", ui, tt.wantUI)
			}
		})
	}
}

func TestParseMachineReadableLongUILineIsCut(t *testing.T) {
	long := strings.Repeat("y", 2*maxLine)
	in := "1,,ui,message," + long + "\n1,,ui,say,next\n" + artifactLines("null", "fnoeding.null", "Null")
	var ui []Line
	got, err := ParseMachineReadable(strings.NewReader(in), func(l Line) { ui = append(ui, l) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("got %d artifacts, want 1", len(got))
	}
	if len(ui) != 2 || ui[1] != (Line{KindSay, "next"}) {
		t.Fatalf("ui lines after the long one: %d lines, last %q", len(ui), ui[len(ui)-1])
	}
	if n := len(ui[0].Text); n >= maxLine || n < maxLine-100 {
		t.Errorf("long line cut to %d bytes, want just under %d", n, maxLine)
	}
}

func TestParseMachineReadableReadError(t *testing.T) {
	boom := errors.New("boom")
	in := io.MultiReader(strings.NewReader("1,,ui,say,one\n"), iotest.ErrReader(boom))
	_, err := ParseMachineReadable(in, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading packer output after line 1") {
		t.Fatalf("error = %v, want one wrapping boom after line 1", err)
	}
}

func TestUnescapeAndAMIs(t *testing.T) {
	if got := unescape(`a%!(PACKER_COMMA)b\nc\rd`); got != "a,b\nc\rd" {
		t.Errorf("unescape = %q", got)
	}
	for _, tt := range []struct {
		id   string
		want map[string]string
	}{
		{"us-east-1:ami-0a", map[string]string{"us-east-1": "ami-0a"}},
		{"eu-west-1:ami-0b,us-east-1:ami-0a", map[string]string{"us-east-1": "ami-0a", "eu-west-1": "ami-0b"}},
		{"us-east-1:ami-0a,us-east-1:ami-0a", map[string]string{"us-east-1": "ami-0a"}},
		{"", nil},
		{"Null", nil},
		{"us-east-1:ami-", nil},
		{"us-east-1:ami-XYZ", nil},
		{"US-EAST-1:ami-0a", nil},
		{":ami-0a", nil},
		{"us-east-1:ami-0a,", nil},
	} {
		got, _ := parseAMIs(tt.id)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseAMIs(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
