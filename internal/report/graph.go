package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// Graph formats of `ami-bakery graph`.
const (
	GraphDOT     = "dot"
	GraphMermaid = "mermaid"
	GraphJSON    = "json"
)

// GraphNode is one image of a project's graph: its name, its parent ("" for
// a root), its level and, when known, what a plan or a bake does to it
// (an Action, or "failed" or "not started").
type GraphNode struct {
	Name   string `json:"name"`
	Parent string `json:"parent"`
	Level  int    `json:"level"`
	Action string `json:"action,omitempty"`
}

// Actions of a graph node besides bake's.
const (
	NodeFailed     = "failed"
	NodeNotStarted = "not started"
)

// PlanAction sums up an image's plan in one action: build when a region
// needs a build, else wait, else copy, else reuse.
func PlanAction(p *bake.Plan) bake.Action {
	for _, a := range []bake.Action{bake.Build, bake.Wait, bake.Copy, bake.Restore} {
		for _, d := range p.Regions {
			if d.Action == a {
				return a
			}
		}
	}
	return bake.Reuse
}

// colours are the fill colours of the actions, in DOT and Mermaid: work
// to do is warm, what exists is green, a failure red.
var colours = map[string]string{
	string(bake.Build): "#f6a04d", string(bake.Built): "#f6a04d",
	string(bake.Wait): "#f5d76e", string(bake.Restore): "#f5d76e", string(bake.Restored): "#f5d76e",
	string(bake.Copy): "#7fb3e6", string(bake.Copied): "#7fb3e6",
	string(bake.Reuse): "#8fd18f", string(bake.Reused): "#8fd18f",
	NodeFailed: "#e66b6b", NodeNotStarted: "#d0d0d0",
}

// PrintGraph writes a project's graph, parents before children, edges
// from parent to child, each image labelled with its action when it has
// one: as a Graphviz DOT digraph, a Mermaid flowchart, or one JSON object
// {"images": [{"name", "parent", "level", "action"}]}.
func PrintGraph(w io.Writer, nodes []GraphNode, format string) error {
	switch format {
	case GraphJSON:
		if nodes == nil {
			nodes = []GraphNode{}
		}
		return encodeJSON(w, struct {
			Images []GraphNode `json:"images"`
		}{nodes})
	case GraphMermaid:
		_, err := io.WriteString(w, Mermaid(nodes))
		return err
	case GraphDOT:
		_, err := io.WriteString(w, dot(nodes))
		return err
	}
	return fmt.Errorf("unknown graph format %q", format)
}

// dot renders nodes as a Graphviz digraph. Names are written as DOT
// strings (JSON quoting is a subset DOT reads).
func dot(nodes []GraphNode) string {
	var b strings.Builder
	b.WriteString("digraph bakery {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n")
	for _, n := range nodes {
		label := n.Name
		attrs := ""
		if n.Action != "" {
			label += "\n" + n.Action
			attrs = fmt.Sprintf(", style=\"rounded,filled\", fillcolor=%q", colours[n.Action])
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", q(n.Name), q(label), attrs)
	}
	for _, n := range nodes {
		if n.Parent != "" {
			fmt.Fprintf(&b, "  %s -> %s;\n", q(n.Parent), q(n.Name))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// Mermaid renders nodes as a Mermaid flowchart (GitHub renders one in
// markdown), each image coloured by its action. Node ids are n0, n1, ...,
// since Mermaid reads some names (end, a-b) as syntax.
func Mermaid(nodes []GraphNode) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := make(map[string]string, len(nodes))
	for i, n := range nodes {
		ids[n.Name] = "n" + strconv.Itoa(i)
	}
	used := map[string][]string{}
	var classes []string
	for _, n := range nodes {
		label := n.Name
		if n.Action != "" {
			label += ": " + n.Action
			class := strings.ReplaceAll(n.Action, " ", "_")
			if used[class] == nil {
				classes = append(classes, n.Action)
			}
			used[class] = append(used[class], ids[n.Name])
		}
		fmt.Fprintf(&b, "  %s[%s]\n", ids[n.Name], mermaidText(label))
	}
	for _, n := range nodes {
		if p, ok := ids[n.Parent]; ok {
			fmt.Fprintf(&b, "  %s --> %s\n", p, ids[n.Name])
		}
	}
	for _, a := range classes {
		class := strings.ReplaceAll(a, " ", "_")
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:#555\n  class %s %s\n", class, colours[a], strings.Join(used[class], ","), class)
	}
	return b.String()
}

// mermaidText quotes a label for Mermaid: in double quotes, with a quote
// written as its entity.
func mermaidText(s string) string {
	b, _ := json.Marshal(s)
	return `"` + strings.ReplaceAll(string(b[1:len(b)-1]), `\"`, "#quot;") + `"`
}
