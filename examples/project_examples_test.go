package examples_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The CI examples of a project of many images (bakery.hcl): a GitHub
// Actions workflow with one matrix per dependency level, and a GitLab
// child pipeline written by `ami-bakery plan --matrix gitlab`.
const (
	projectFlow  = "github-actions/bake-project.yml"
	projectLab   = "gitlab-ci/bake-project.gitlab-ci.yml"
	projectLabDf = "gitlab-ci/bake-project-defaults.yml"
)

// TestProjectWorkflowExample checks the per-level workflow: a plan job
// whose outputs are one matrix per level, made by plan --matrix github
// --level N; a bake job per level that needs the plan and the level
// before, is guarded against an empty matrix (and, past level 0, runs when
// the level before was skipped), and bakes its matrix's image with the
// expression passed through env:.
func TestProjectWorkflowExample(t *testing.T) {
	w := loadYAML(t, projectFlow)
	jobs, _ := get(w, "jobs").(map[string]any)
	plan := jobs["plan"]
	if plan == nil {
		t.Fatalf("no plan job; jobs: %v", keys(jobs))
	}
	var planScript string
	for _, s := range list(get(plan, "steps")) {
		planScript += str(get(s, "run")) + "\n"
	}
	if !strings.Contains(planScript, `ami-bakery plan --matrix github --level "$level"`) || !strings.Contains(planScript, "for level in 0 1 2") {
		t.Errorf("the plan job does not write a matrix per level:\n%s", planScript)
	}
	for level := range 3 {
		name := fmt.Sprintf("bake-level-%d", level)
		job := jobs[name]
		if job == nil {
			t.Fatalf("no job %s; jobs: %v", name, keys(jobs))
		}
		out := fmt.Sprintf("level%d", level)
		if got := str(get(plan, "outputs", out)); got != "${{ steps.plan.outputs."+out+" }}" {
			t.Errorf("plan output %s = %q", out, got)
		}
		if got := str(get(job, "strategy", "matrix")); got != "${{ fromJSON(needs.plan.outputs."+out+") }}" {
			t.Errorf("%s: matrix %q", name, got)
		}
		cond := str(get(job, "if"))
		if !strings.Contains(cond, "fromJSON(needs.plan.outputs."+out+").include[0] != null") {
			t.Errorf("%s: no guard against an empty matrix: if: %q", name, cond)
		}
		needs := strs(list(get(job, "needs")))
		if level == 0 {
			needs = []string{str(get(job, "needs"))}
		} else {
			if !slices.Contains(needs, fmt.Sprintf("bake-level-%d", level-1)) {
				t.Errorf("%s needs %v, want the level before", name, needs)
			}
			if !strings.Contains(cond, "!cancelled() && !failure()") {
				t.Errorf("%s: if: %q is skipped whenever the level before had nothing to do", name, cond)
			}
		}
		if !slices.Contains(needs, "plan") {
			t.Errorf("%s needs %v, want plan", name, needs)
		}
		var baked bool
		for _, s := range list(get(job, "steps")) {
			if str(get(s, "run")) == `ami-bakery bake "$IMAGE"` && str(get(s, "env", "IMAGE")) == "${{ matrix.image }}" {
				baked = true
			}
		}
		if !baked {
			t.Errorf("%s: no step running ami-bakery bake \"$IMAGE\" with IMAGE from the matrix", name)
		}
	}
	for name, job := range jobs {
		for i, s := range list(get(job, "steps")) {
			if strings.Contains(str(get(s, "run")), "${{") {
				t.Errorf("job %s, step %d: an expression inside run: is pasted into the script (injection); pass it through env:", name, i)
			}
		}
	}
}

// TestProjectGitLabExample checks the child pipeline: the plan job keeps
// what plan --matrix gitlab wrote as an artifact, and the trigger job
// includes it, with the defaults file, and waits for it.
func TestProjectGitLabExample(t *testing.T) {
	g := loadYAML(t, projectLab)
	script := strings.Join(strs(list(get(g, "plan", "script"))), "\n")
	m := regexp.MustCompile(`ami-bakery plan --matrix gitlab > (\S+)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("the plan job does not write the child pipeline:\n%s", script)
	}
	if !slices.Contains(strs(list(get(g, "plan", "artifacts", "paths"))), m[1]) {
		t.Errorf("the plan job does not keep %s as an artifact", m[1])
	}
	var artifact, local bool
	for _, inc := range list(get(g, "bake", "trigger", "include")) {
		artifact = artifact || (str(get(inc, "artifact")) == m[1] && str(get(inc, "job")) == "plan")
		if l := str(get(inc, "local")); l != "" {
			local = true
			if _, err := os.Stat("../" + l); err != nil {
				t.Errorf("the trigger includes %s: %v", l, err)
			}
		}
	}
	if !artifact || !local {
		t.Errorf("the trigger job includes the plan's artifact: %v, the defaults: %v", artifact, local)
	}
	if str(get(g, "bake", "trigger", "strategy")) != "depend" {
		t.Error("the trigger job does not wait for the child pipeline (strategy: depend)")
	}
	d := loadYAML(t, projectLabDf)
	if str(get(d, "default", "image", "name")) == "" || len(list(get(d, "default", "before_script"))) == 0 {
		t.Errorf("the defaults give the child jobs no image or no credentials: %v", d)
	}
}

// TestPromoteWorkflowExample checks the promotion workflow: bake and test,
// then promote to staging, then to prod in a job bound to the production
// environment (its reviewers approve), each job after the one before, with
// OIDC credentials and no expression pasted into a script.
func TestPromoteWorkflowExample(t *testing.T) {
	w := loadYAML(t, "github-actions/promote.yml")
	jobs, _ := get(w, "jobs").(map[string]any)
	script := func(name string) string {
		var s string
		for _, st := range list(get(jobs[name], "steps")) {
			if strings.Contains(str(get(st, "run")), "${{") {
				t.Errorf("job %s: an expression inside run: is pasted into the script (injection); pass it through env:", name)
			}
			s += str(get(st, "run")) + "\n"
		}
		return s
	}
	for name, want := range map[string][]string{
		"bake":            {"ami-bakery bake\n", "ami-bakery test\n"},
		"promote-staging": {"ami-bakery promote --to staging\n"},
		"promote-prod":    {"ami-bakery promote --to prod\n"},
	} {
		if jobs[name] == nil {
			t.Fatalf("no job %s; jobs: %v", name, keys(jobs))
		}
		s := script(name)
		for _, cmd := range want {
			if !strings.Contains(s, cmd) {
				t.Errorf("job %s does not run %q:\n%s", name, strings.TrimSpace(cmd), s)
			}
		}
		if str(get(jobs[name], "permissions", "id-token")) != "write" {
			t.Errorf("job %s: permissions id-token: write is needed for OIDC", name)
		}
	}
	if i, j := strings.Index(script("bake"), "bake\n"), strings.Index(script("bake"), "test\n"); i < 0 || j < i {
		t.Error("the bake job must bake before it tests")
	}
	if got := str(get(jobs["promote-staging"], "needs")); got != "bake" {
		t.Errorf("promote-staging needs %q, want bake", got)
	}
	if got := str(get(jobs["promote-prod"], "needs")); got != "promote-staging" {
		t.Errorf("promote-prod needs %q, want promote-staging", got)
	}
	if got := str(get(jobs["promote-prod"], "environment")); got != "production" {
		t.Errorf("promote-prod's environment is %q, want production (its reviewers approve)", got)
	}
	if str(get(jobs["promote-staging"], "environment")) != "" {
		t.Error("promote-staging should not wait for an approval")
	}
}
