// Command render is a small stand-in for `helm template`, for the chart tests
// on machines without helm (Debian 12 has no helm package). It renders one
// chart directory with Go's text/template + sprig the way Helm 3 does for what
// charts/dns01-webhook uses, and prints every rendered document as JSON.
//
//	render [-name R] [-namespace NS] [-f values.yaml]... [-kube-version v1.29.0] [-o json|yaml|notes|values] CHART_DIR
//	render -yaml2json < multi-doc.yaml      (convert `helm template` output)
//
// -o json (default) prints one JSON array: [{"template": "<chart>/templates/x.yaml",
// "object": {...}}, ...], empty documents dropped. -o yaml prints the rendered
// stream the way `helm template` does (with "# Source:" comments); -o notes
// prints templates/NOTES.txt rendered, as `helm install` would show it; -o
// values prints the coalesced values as JSON.
// Errors (a template error, `fail`, `required`) go to stderr with exit 1.
//
// What follows Helm 3: values = chart values.yaml coalesced with each -f file
// in order (maps merge deeply, a null removes a key); numbers are float64 (as
// sigs.k8s.io/yaml gives Helm); built-in objects .Values .Release .Chart
// .Capabilities .Template; functions = sprig's TxtFuncMap without env and
// expandenv, plus include, tpl, required, toYaml, fromYaml, toJson, fromJson,
// lookup (always empty, as in `helm template`); missing keys render as "";
// templates whose file name starts with "_" and NOTES.txt are not output.
// Not supported (the chart does not use them): subcharts, .Files, --set,
// values.schema.json.
//
// Build offline from Debian's packages (golang-go,
// golang-github-masterminds-sprig-dev, golang-k8s-sigs-yaml-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o render render.go
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	// GOPATH mode: Debian installs sprig v3 at .../Masterminds/sprig.
	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

type valuesFiles []string

func (v *valuesFiles) String() string     { return strings.Join(*v, ",") }
func (v *valuesFiles) Set(s string) error { *v = append(*v, s); return nil }

// KubeVersion and APIVersions mirror the parts of Helm's .Capabilities that
// charts commonly read.
type KubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

type APIVersions []string

func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions APIVersions
}

// The API versions a current cluster with cert-manager serves; enough for
// `.Capabilities.APIVersions.Has` checks on what this chart renders.
var defaultAPIVersions = APIVersions{
	"v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1",
	"apiregistration.k8s.io/v1", "cert-manager.io/v1", "acme.cert-manager.io/v1",
	"apps/v1/Deployment", "policy/v1/PodDisruptionBudget",
	"apiregistration.k8s.io/v1/APIService", "cert-manager.io/v1/Certificate",
	"cert-manager.io/v1/Issuer",
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "render: "+format+"\n", a...)
	os.Exit(1)
}

func readYAMLMap(path string) map[string]interface{} {
	data, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		die("%s: %v", path, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return m
}

// coalesce merges src over dst like Helm's values coalescing: nested maps
// merge, a nil in src deletes the key, anything else replaces.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// chartMeta turns Chart.yaml's lower-camel keys into the upper-camel fields
// Helm exposes as .Chart (name → Name, appVersion → AppVersion, ...).
func chartMeta(m map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range m {
		if k == "" {
			continue
		}
		out[strings.ToUpper(k[:1])+k[1:]] = v
	}
	for _, k := range []string{"Name", "Version", "AppVersion", "Description", "Type", "ApiVersion"} {
		if _, ok := out[k]; !ok {
			out[k] = ""
		}
	}
	// Helm spells it APIVersion.
	out["APIVersion"] = out["ApiVersion"]
	return out
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func required(msg string, v interface{}) (interface{}, error) {
	if v == nil {
		return v, errors.New(msg)
	}
	if s, ok := v.(string); ok && s == "" {
		return v, errors.New(msg)
	}
	return v, nil
}

// loadValues is the chart's values.yaml with each -f file coalesced over it.
func loadValues(chartDir string, files valuesFiles) map[string]interface{} {
	values := map[string]interface{}{}
	if _, err := os.Stat(filepath.Join(chartDir, "values.yaml")); err == nil {
		values = readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	}
	for _, f := range files {
		values = coalesce(values, readYAMLMap(f))
	}
	return values
}

type rendered struct {
	name string
	text string
}

func render(chartDir, relName, namespace, kubeVersion string, files valuesFiles, notes bool) []rendered {
	meta := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	chartName, _ := meta["name"].(string)
	if chartName == "" {
		die("%s/Chart.yaml: no name", chartDir)
	}
	values := loadValues(chartDir, files)

	kv := strings.TrimPrefix(kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	for len(parts) < 2 {
		parts = append(parts, "0")
	}
	caps := Capabilities{
		KubeVersion: KubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1], GitVersion: "v" + kv},
		APIVersions: defaultAPIVersions,
	}
	release := map[string]interface{}{
		"Name": relName, "Namespace": namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}

	// Every file under templates/ joins one template set, named like Helm
	// names them: <chart>/templates/<path>.
	var names []string
	sources := map[string]string{}
	tdir := filepath.Join(chartDir, "templates")
	err := filepath.Walk(tdir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		name := chartName + "/" + filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		names = append(names, name)
		sources[name] = string(data)
		return nil
	})
	if err != nil {
		die("%v", err)
	}
	sort.Strings(names)

	root := template.New("gotpl").Option("missingkey=zero")
	depth := 0
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	funcs["required"] = required
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		depth++
		defer func() { depth-- }()
		if depth > 1000 {
			return "", fmt.Errorf("include %q: too deeply nested", name)
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	root.Funcs(funcs)
	for _, n := range names {
		if _, err := root.New(n).Parse(sources[n]); err != nil {
			die("%v", err)
		}
	}

	var out []rendered
	for _, n := range names {
		base := filepath.Base(n)
		if strings.HasPrefix(base, "_") || (base == "NOTES.txt") != notes {
			continue
		}
		data := map[string]interface{}{
			"Values":       values,
			"Release":      release,
			"Chart":        chartMeta(meta),
			"Capabilities": caps,
			"Template":     map[string]interface{}{"Name": n, "BasePath": chartName + "/templates"},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, n, data); err != nil {
			die("%v", err)
		}
		out = append(out, rendered{n, strings.ReplaceAll(buf.String(), "<no value>", "")})
	}
	return out
}

// Helm's releaseutil.SplitManifests separator.
var sep = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

type doc struct {
	Template string          `json:"template"`
	Object   json.RawMessage `json:"object"`
}

func toDocs(template, text string) []doc {
	var docs []doc
	for i, part := range sep.Split(text, -1) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(part))
		if err != nil {
			die("%s: document %d is not valid YAML: %v\n%s", template, i, err, part)
		}
		if string(j) == "null" {
			continue // only comments
		}
		if !bytes.HasPrefix(j, []byte("{")) {
			die("%s: document %d is not a mapping: %s", template, i, j)
		}
		docs = append(docs, doc{template, j})
	}
	return docs
}

func main() {
	relName := flag.String("name", "dns01", "release name (.Release.Name)")
	namespace := flag.String("namespace", "cert-manager", "release namespace (.Release.Namespace)")
	kubeVersion := flag.String("kube-version", "v1.29.0", ".Capabilities.KubeVersion")
	output := flag.String("o", "json", "json, yaml, notes (templates/NOTES.txt rendered) or values (the coalesced values as JSON)")
	y2j := flag.Bool("yaml2json", false, "convert a multi-document YAML stream on stdin to the JSON array")
	var files valuesFiles
	flag.Var(&files, "f", "values file (repeatable; later files win)")
	flag.Parse()

	var docs []doc
	if *y2j {
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			die("%v", err)
		}
		docs = toDocs("stdin", string(in))
	} else {
		if flag.NArg() != 1 {
			die("usage: render [flags] CHART_DIR")
		}
		if *output == "values" {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", " ")
			if err := enc.Encode(loadValues(flag.Arg(0), files)); err != nil {
				die("%v", err)
			}
			return
		}
		out := render(flag.Arg(0), *relName, *namespace, *kubeVersion, files, *output == "notes")
		if *output == "notes" {
			for _, r := range out {
				fmt.Print(r.text)
			}
			return
		}
		if *output == "yaml" {
			for _, r := range out {
				if strings.TrimSpace(r.text) == "" {
					continue
				}
				fmt.Printf("---\n# Source: %s\n%s\n", r.name, strings.TrimSpace(r.text))
			}
			return
		}
		for _, r := range out {
			docs = append(docs, toDocs(r.name, r.text)...)
		}
	}
	if docs == nil {
		docs = []doc{}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(docs); err != nil {
		die("%v", err)
	}
}
