package packer

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// This file gathers a JSON template's references to local paths
// (template_inputs.go) and evaluates them as packer 1.6.6 interpolates a
// JSON template: {{user `x`}}, {{template_dir}} and {{pwd}}; any other
// call ({{env}} outside "variables", {{timestamp}}, {{ .Name }}) is
// unknown.

// dirCallRe matches {{template_dir}} and {{pwd}}.
var dirCallRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\{\{-?\s*(template_dir|pwd)\s*-?\}\}`)
})

// jsonInputs gathers the references of the builders (parallel to
// t.Sources, each with its offset in src), the provisioners and the
// post-processors.
func (t *Template) jsonInputs(src []byte, top map[string]jsonValue, builders []jsonValue, defaults map[string]string) {
	for i, el := range builders {
		fields, err := topLevel(el.raw)
		if err != nil || i >= len(t.Sources) {
			continue
		}
		s := t.Sources[i]
		for _, name := range builderPathSettings {
			if v, ok := fields[name]; ok {
				t.jsonRefs(src, el.off+v.off, v, fmt.Sprintf("builder %q %s", s.Type, name), s.Builds, false, defaults)
			}
		}
	}
	var names []string
	for _, s := range t.Sources {
		names = append(names, s.Name)
	}
	if p, ok := top["provisioners"]; ok {
		if els, err := arrayElems(p.raw); err == nil {
			for _, el := range els {
				t.jsonBlock(src, p.off+el.off, el.raw, "provisioner", names, defaults)
			}
		}
	}
	if p, ok := top["post-processors"]; ok {
		if els, err := arrayElems(p.raw); err == nil {
			for _, el := range els {
				seq, err := arrayElems(el.raw)
				if err != nil { // not a sequence: one post-processor
					t.jsonBlock(src, p.off+el.off, el.raw, "post-processor", names, defaults)
					continue
				}
				for _, pp := range seq {
					t.jsonBlock(src, p.off+el.off+pp.off, pp.raw, "post-processor", names, defaults)
				}
			}
		}
	}
}

// jsonBlock gathers the references of one provisioner or post-processor
// object starting at off in src: its path settings for the builds its
// "only" and "except" leave (packer compares names exactly) and that do not
// override them, and those of each override for that build.
func (t *Template) jsonBlock(src []byte, off int64, raw json.RawMessage, kind string, names []string, defaults map[string]string) {
	fields, err := topLevel(raw)
	if err != nil {
		return
	}
	var typ string
	var only, except []string
	_ = json.Unmarshal(fields["type"].raw, &typ)
	_ = json.Unmarshal(fields["only"].raw, &only)
	_ = json.Unmarshal(fields["except"].raw, &except)
	settings := pathSettings[kind][typ]
	if len(settings) == 0 {
		return
	}
	var builds []string
	for _, n := range names {
		if (len(only) == 0 || slices.Contains(only, n)) && !slices.Contains(except, n) {
			builds = append(builds, n)
		}
	}
	overrides := map[string]map[string]jsonValue{}
	ov, hasOv := fields["override"]
	if hasOv {
		if byName, err := topLevel(ov.raw); err == nil {
			for _, name := range slices.Sorted(maps.Keys(byName)) {
				v := byName[name]
				if o, err := topLevel(v.raw); err == nil && slices.Contains(builds, name) {
					overrides[name] = o
					// The override's settings for its build.
					other := func(k string) string {
						if x, ok := o[k]; ok {
							return jsonLiteral(x)
						}
						return jsonLiteral(fields[k])
					}
					for _, sname := range settings {
						if x, ok := o[sname]; ok && !skipSetting(kind, typ, sname, other) {
							t.jsonRefs(src, off+ov.off+v.off+x.off, x, useOf(kind, typ, sname), []string{name}, parentSetting(kind, typ, sname), defaults)
						}
					}
				}
			}
		}
	}
	other := func(k string) string { return jsonLiteral(fields[k]) }
	for _, sname := range settings {
		x, ok := fields[sname]
		if !ok || skipSetting(kind, typ, sname, other) {
			continue
		}
		var users []string
		for _, b := range builds {
			if _, overridden := overrides[b][sname]; !overridden {
				users = append(users, b)
			}
		}
		if len(users) > 0 {
			t.jsonRefs(src, off+x.off, x, useOf(kind, typ, sname), users, parentSetting(kind, typ, sname), defaults)
		}
	}
}

// jsonLiteral is a JSON string or boolean setting as text, or "".
func jsonLiteral(v jsonValue) string {
	var s string
	var b bool
	switch {
	case json.Unmarshal(v.raw, &s) == nil:
		return s
	case json.Unmarshal(v.raw, &b) == nil:
		return strconv.FormatBool(b)
	}
	return ""
}

// jsonRefs adds a reference for a setting at off in src: one for a string,
// one for each string of a list.
func (t *Template) jsonRefs(src []byte, off int64, v jsonValue, use string, builds []string, parent bool, defaults map[string]string) {
	add := func(at int64, text string) {
		t.refs = append(t.refs, inputRef{
			pos:    fmt.Sprintf("%s:%d", t.Path, posAt(src, at).line),
			text:   strconv.Quote(text),
			use:    use,
			builds: builds,
			parent: parent,
			eval: func(env inputEnv) ([]string, bool) {
				p, ok := jsonInterpolate(text, env, defaults)
				return []string{p}, ok
			},
		})
	}
	var s string
	if json.Unmarshal(v.raw, &s) == nil {
		add(off, s)
		return
	}
	els, err := arrayElems(v.raw)
	if err != nil {
		return
	}
	for _, el := range els {
		if json.Unmarshal(el.raw, &s) == nil {
			add(off+el.off, s)
		}
	}
}

// jsonInterpolate evaluates a JSON template string as packer would before a
// build: {{user `x`}} takes the variable's value (given, else its default,
// which may itself use variables), {{template_dir}} and {{pwd}} the
// directories. ok is false when anything else is left.
func jsonInterpolate(text string, env inputEnv, defaults map[string]string) (string, bool) {
	known := true
	var user func(s string, depth int) string
	user = func(s string, depth int) string {
		return userVarRe().ReplaceAllStringFunc(s, func(ref string) string {
			sub := userVarRe().FindStringSubmatch(ref)
			name := sub[1] + sub[2]
			v, ok := env.vars[name]
			if !ok {
				v, ok = defaults[name]
			}
			if !ok {
				known = false
				return ""
			}
			if depth < 8 && strings.Contains(v, "{{") {
				v = user(v, depth+1)
			}
			return v
		})
	}
	out := user(text, 0)
	out = dirCallRe().ReplaceAllStringFunc(out, func(ref string) string {
		if dirCallRe().FindStringSubmatch(ref)[1] == "pwd" {
			return env.workDir
		}
		return env.templateDir
	})
	if !known || strings.Contains(out, "{{") {
		return "", false
	}
	return out, true
}

// readJSONVarFile reads a JSON template's -var-file, an object of names and
// values, into vars.
func readJSONVarFile(path string, vars map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading -var-file %s: %w", path, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("reading -var-file %s: %w", path, err)
	}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			vars[k] = s
		}
	}
	return nil
}
