package packer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// This file reads packer's legacy JSON templates.

// jsonBuilder is the part of a JSON builder that LoadTemplate reads. Fields
// of the wrong type are left empty rather than reported: validating builders
// is packer's job.
type jsonBuilder struct {
	Type         string
	Name         string
	AMIName      string
	Distribution Distribution
	Settings     map[string]string // SettingNames, lists joined with commas, booleans as "true" or "false"
}

// userVarRe matches {{user `name`}} and {{ user "name" }} in a JSON
// template. This package's regexps are compiled on first use: at package
// init they cost every run, version and HCL templates included.
var userVarRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile("\\{\\{-?\\s*user\\s+(?:`([^`]*)`|\"([^\"]*)\")\\s*-?\\}\\}")
})

func (t *Template) loadJSON(src []byte) error {
	if bytes.HasPrefix(src, utf8BOM) {
		return bomError(t.Path)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return emptyError(t.Path)
	}
	trimmed := bytes.TrimLeft(src, " \t\r\n")
	if trimmed[0] != '{' {
		return t.notJSONError(src)
	}
	top, err := topLevel(src)
	if err != nil {
		return usererr.WithHint(fmt.Errorf("reading template %s: invalid JSON: %w", t.Path, err),
			"packer reads a file not named *.pkr.hcl or *.pkr.json as a JSON template; fix the JSON at that position")
	}

	t.Syntax = "json"
	var defaults map[string]string
	if v, ok := top["variables"]; ok && v.kind() != "null" {
		if v.kind() != "object" {
			return usererr.WithHint(fmt.Errorf("reading template %s: \"variables\" at %s is %s, not an object", t.Path, v.pos, v.kind()),
				`declare variables as "variables": {"name": "default value"}`)
		}
		var vars map[string]json.RawMessage
		if err := json.Unmarshal(v.raw, &vars); err != nil {
			return fmt.Errorf("reading template %s: decoding \"variables\" at %s: %w", t.Path, v.pos, err)
		}
		t.Variables = slices.Sorted(maps.Keys(vars))
		defaults = map[string]string{}
		for name, raw := range vars {
			var d string
			if json.Unmarshal(raw, &d) == nil {
				defaults[name] = d
			}
		}
	}

	b, ok := top["builders"]
	if !ok || b.kind() == "null" {
		if _, hcl := top["source"]; hcl {
			return usererr.WithHint(fmt.Errorf("reading template %s: it has \"source\" but no \"builders\"", t.Path),
				"this looks like an HCL2 JSON template: packer reads it as one only when the file name ends in .pkr.json")
		}
		return usererr.WithHint(fmt.Errorf("reading template %s: it defines no builders", t.Path),
			`add "builders": [{"type": "amazon-ebs", ...}]`)
	}
	if b.kind() != "array" {
		return usererr.WithHint(fmt.Errorf("reading template %s: \"builders\" at %s is %s, not an array", t.Path, b.pos, b.kind()),
			`declare builders as "builders": [{"type": "amazon-ebs", ...}]`)
	}
	builders, err := arrayElems(b.raw)
	if err != nil {
		return fmt.Errorf("reading template %s: decoding \"builders\" at %s: %w", t.Path, b.pos, err)
	}
	if len(builders) == 0 {
		return usererr.WithHint(fmt.Errorf("reading template %s: \"builders\" at %s is empty", t.Path, b.pos),
			`add a builder: "builders": [{"type": "amazon-ebs", ...}]`)
	}
	for i, el := range builders {
		builders[i].off = b.off + el.off
		at := posAt(src, b.off+el.off)
		jb, err := decodeJSONBuilder(el.raw)
		if err != nil {
			return usererr.WithHint(fmt.Errorf("reading template %s: the builder at %s: %w", t.Path, at, err),
				`each builder is an object with a "type", e.g. {"type": "amazon-ebs", ...}`)
		}
		s := Source{
			Type: jb.Type,
			Name: cmp.Or(jb.Name, jb.Type),
			Pos:  fmt.Sprintf("%s:%d", t.Path, at.line),

			Distribution: jb.Distribution,
			Settings:     map[string]Setting{},
		}
		s.Builds = []string{s.Name}
		for k, text := range jb.Settings {
			s.Settings[k] = jsonSetting(s.Pos, text, defaults)
		}
		s.AMINameVars = s.Settings["ami_name"].Vars
		t.Sources = append(t.Sources, s)
	}
	t.Manifests = jsonManifests(top["post-processors"], fmt.Sprintf("%s:%d", t.Path, top["post-processors"].pos.line), defaults)
	t.jsonInputs(src, top, builders, defaults)
	return nil
}

// jsonSetting is a JSON template string as a Setting: {{user `x`}} takes
// the variable's value, and any other template call ({{timestamp}},
// {{env}}, ...) makes the value unknown.
func jsonSetting(at, text string, defaults map[string]string) Setting {
	st := Setting{Pos: at, Text: strconv.Quote(text)}
	for _, m := range userVarRe().FindAllStringSubmatch(text, -1) {
		st.Vars = append(st.Vars, m[1]+m[2])
	}
	slices.Sort(st.Vars)
	st.Vars = slices.Compact(st.Vars)
	if m := userVarRe().FindStringSubmatch(text); m != nil && m[0] == text {
		st.Var = m[1] + m[2]
	}
	st.eval = func(vars map[string]string) (string, bool) {
		known := true
		out := userVarRe().ReplaceAllStringFunc(text, func(ref string) string {
			sub := userVarRe().FindStringSubmatch(ref)
			v, ok := vars[sub[1]+sub[2]]
			if !ok {
				v, ok = defaults[sub[1]+sub[2]]
			}
			if !ok || strings.Contains(v, "{{") {
				known = false
			}
			return v
		})
		if !known || strings.Contains(out, "{{") {
			return "", false
		}
		return out, true
	}
	return st
}

// jsonManifests returns the outputs of the manifest post-processors in a
// JSON template's "post-processors": each element is a name, an object
// with a "type", or a sequence (an array) of those.
func jsonManifests(v jsonValue, at string, defaults map[string]string) []Setting {
	var list []json.RawMessage
	if json.Unmarshal(v.raw, &list) != nil {
		return nil
	}
	var out []Setting
	for _, raw := range list {
		var seq []json.RawMessage
		if json.Unmarshal(raw, &seq) != nil {
			seq = []json.RawMessage{raw}
		}
		for _, pp := range seq {
			var name string
			var obj struct{ Type, Output string }
			switch {
			case json.Unmarshal(pp, &name) == nil && name == "manifest":
			case json.Unmarshal(pp, &obj) == nil && obj.Type == "manifest":
			default:
				continue
			}
			out = append(out, jsonSetting(at, cmp.Or(obj.Output, DefaultManifest), defaults))
		}
	}
	return out
}

func decodeJSONBuilder(raw json.RawMessage) (jsonBuilder, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return jsonBuilder{}, errors.New("it is not an object")
	}
	var b jsonBuilder
	if err := json.Unmarshal(fields["type"], &b.Type); err != nil || b.Type == "" {
		return jsonBuilder{}, errors.New(`it has no "type" string`)
	}
	// The rest is best effort: a wrong type leaves the field empty.
	_ = json.Unmarshal(fields["name"], &b.Name)
	_ = json.Unmarshal(fields["ami_name"], &b.AMIName)
	b.Distribution = jsonDistribution(fields)
	b.Settings = map[string]string{}
	for _, k := range SettingNames {
		if fields[k] == nil {
			continue
		}
		var str string
		var list []string
		var flag bool
		switch {
		case json.Unmarshal(fields[k], &str) == nil:
			b.Settings[k] = str
		case json.Unmarshal(fields[k], &list) == nil && list != nil:
			b.Settings[k] = strings.Join(list, ",")
		case json.Unmarshal(fields[k], &flag) == nil:
			b.Settings[k] = strconv.FormatBool(flag)
		}
	}
	return b, nil
}

// notJSONError explains a file that packer 1.6.6 would read as JSON but that
// is not JSON at all.
func (t *Template) notJSONError(src []byte) error {
	if strings.HasSuffix(t.Path, ".hcl") || looksLikeHCL(src) {
		return usererr.WithHint(fmt.Errorf("reading template %s: it looks like HCL2, but packer 1.6.6 reads only files named *.pkr.hcl as HCL2", t.Path),
			"rename it to end in .pkr.hcl, or give the directory that holds it")
	}
	return usererr.WithHint(fmt.Errorf("reading template %s: it is neither a JSON template nor an HCL2 template", t.Path),
		"give a JSON template (a JSON object with \"builders\"), a *.pkr.hcl or *.pkr.json file, or a directory of them")
}

// pos is a line and column in a file, both from 1.
type pos struct{ line, col int }

func (p pos) String() string { return fmt.Sprintf("line %d, column %d", p.line, p.col) }

func posAt(src []byte, offset int64) pos {
	if offset > int64(len(src)) {
		offset = int64(len(src))
	}
	if offset < 0 {
		offset = 0
	}
	before := src[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return pos{line, col}
}

// jsonValue is one top-level value of a JSON object and where it starts.
type jsonValue struct {
	raw json.RawMessage
	off int64 // of the value's first byte in the file
	pos pos
}

func (v jsonValue) kind() string {
	switch b := bytes.TrimSpace(v.raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

// topLevel decodes a JSON object into its members, remembering where each
// value starts so that errors can point at it. Errors carry "line L, column
// C".
func topLevel(src []byte) (map[string]jsonValue, error) {
	// Check the whole text first: json.Unmarshal's syntax errors count
	// their offset from the start of src (a Decoder's do not, reliably).
	if err := json.Unmarshal(src, new(json.RawMessage)); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			if syn.Offset >= int64(len(src)) {
				return nil, fmt.Errorf("%s: %w", posAt(src, int64(len(src))), err)
			}
			// Offset counts the offending byte.
			return nil, fmt.Errorf("%s: %w", posAt(src, syn.Offset-1), err)
		}
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s: the template is not a JSON object", posAt(src, 0))
	}
	out := map[string]jsonValue{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object key", posAt(src, dec.InputOffset()))
		}
		// The value starts after the colon and any white space.
		off := skipSeparators(src, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out[key] = jsonValue{raw: raw, off: off, pos: posAt(src, off)}
	}
	return out, nil
}

func skipSeparators(src []byte, off int64) int64 {
	for off < int64(len(src)) && strings.IndexByte(" \t\r\n:,", src[off]) >= 0 {
		off++
	}
	return off
}

// arrayElems splits a JSON array into its elements, each with its offset in
// raw.
func arrayElems(raw json.RawMessage) ([]jsonValue, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []jsonValue
	for dec.More() {
		off := skipSeparators(raw, dec.InputOffset())
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return nil, err
		}
		out = append(out, jsonValue{raw: el, off: off})
	}
	return out, nil
}
