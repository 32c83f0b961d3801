package composetest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wildcat-payments/wildcat/internal/config/configtest"
)

// appServices maps each compose service that runs one of our binaries to the
// cmd/ directory of that binary.
var appServices = map[string]string{
	"command-api":  "command-api",
	"query-api":    "query-api",
	"projector":    "projector",
	"processor":    "processor",
	"provider-sim": "provider-sim",
	"web":          "web",
}

// infraPorts are the ports the third-party services listen on inside the
// compose network.
var infraPorts = map[string]string{
	"postgres":      "5432",
	"elasticsearch": "9200",
}

// composeFile is the part of the compose specification these tests read.
type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string               `yaml:"image"`
	Build       any                  `yaml:"build"`
	Command     stringList           `yaml:"command"`
	Environment envMap               `yaml:"environment"`
	Ports       []string             `yaml:"ports"`
	Volumes     []string             `yaml:"volumes"`
	DependsOn   map[string]dependsOn `yaml:"depends_on"`
	Healthcheck *healthcheck         `yaml:"healthcheck"`
	Networks    map[string]struct {
		IPv4Address string `yaml:"ipv4_address"`
	} `yaml:"networks"`
}

type dependsOn struct {
	Condition string `yaml:"condition"`
}

type healthcheck struct {
	Test stringList `yaml:"test"`
}

// stringList accepts both forms compose allows: a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = strings.Fields(n.Value)
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// envMap accepts both forms compose allows: a mapping or a list of NAME=value.
type envMap map[string]string

func (m *envMap) UnmarshalYAML(n *yaml.Node) error {
	out := map[string]string{}
	switch n.Kind {
	case yaml.MappingNode:
		if err := n.Decode(&out); err != nil {
			return err
		}
	case yaml.SequenceNode:
		var items []string
		if err := n.Decode(&items); err != nil {
			return err
		}
		for _, it := range items {
			k, v, _ := strings.Cut(it, "=")
			out[k] = v
		}
	default:
		return fmt.Errorf("environment: unexpected YAML node kind %d", n.Kind)
	}
	*m = out
	return nil
}

// MustLoadCompose parses docker-compose.yml at the repository root.
func MustLoadCompose(tb testing.TB) composeFile {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(configtest.RepoRoot(tb), "docker-compose.yml"))
	if err != nil {
		tb.Fatalf("read docker-compose.yml: %v", err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		tb.Fatalf("parse docker-compose.yml: %v", err)
	}
	return cf
}

// containerPort returns the container side of a compose port mapping
// ("127.0.0.1:8081:8081", "8081:8081", "8081", "8081/tcp").
func containerPort(mapping string) string {
	parts := strings.Split(mapping, ":")
	p := parts[len(parts)-1]
	p, _, _ = strings.Cut(p, "/")
	return p
}

// hostIP returns the host address of a compose port mapping, "" when it has none.
func hostIP(mapping string) string {
	parts := strings.Split(mapping, ":")
	if len(parts) == 3 {
		return parts[0]
	}
	return ""
}

func TestServicesExist(t *testing.T) {
	cf := MustLoadCompose(t)
	want := []string{"postgres", "elasticsearch", "keys", "command-api", "query-api", "projector", "processor", "provider-sim", "web"}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			if _, ok := cf.Services[name]; !ok {
				t.Fatalf("service %q missing from docker-compose.yml", name)
			}
		})
	}
}

// TestAppServicesRunTheirBinary: each app service is built from the
// Dockerfile and its command names the binary of the same cmd/ directory.
func TestAppServicesRunTheirBinary(t *testing.T) {
	cf := MustLoadCompose(t)
	for svcName, bin := range appServices {
		t.Run(svcName, func(t *testing.T) {
			svc := cf.Services[svcName]
			if svc.Build == nil {
				t.Errorf("service %s has no build section; want the repository Dockerfile", svcName)
			}
			if len(svc.Command) == 0 || filepath.Base(svc.Command[0]) != bin {
				t.Errorf("command = %v, want [%s]", svc.Command, bin)
			}
		})
	}
}

// TestEnvironmentIsReadByBinary: every variable a service sets is one its
// binary reads, so a renamed or misspelled variable cannot hide in here.
func TestEnvironmentIsReadByBinary(t *testing.T) {
	cf := MustLoadCompose(t)
	for svcName, bin := range appServices {
		t.Run(svcName, func(t *testing.T) {
			vars, ok := configtest.EnvVars(t, bin)
			if !ok {
				t.Skipf("cmd/%s/config.go does not exist yet", bin)
			}
			svc := cf.Services[svcName]
			if len(svc.Environment) == 0 {
				t.Fatalf("service %s sets no environment", svcName)
			}
			var unknown []string
			for name := range svc.Environment {
				if !vars[name] {
					unknown = append(unknown, name)
				}
			}
			sort.Strings(unknown)
			if len(unknown) > 0 {
				t.Errorf("service %s sets %v, which cmd/%s does not read (it reads %v)", svcName, unknown, bin, configtest.SortedKeys(vars))
			}
		})
	}
}

// TestListenAddressesAndPorts: each app service listens on 0.0.0.0:<port> in
// its container, publishes that port (on loopback only) and health-checks
// /readyz on it.
func TestListenAddressesAndPorts(t *testing.T) {
	cf := MustLoadCompose(t)
	for svcName, bin := range appServices {
		t.Run(svcName, func(t *testing.T) {
			vars, ok := configtest.EnvVars(t, bin)
			if !ok {
				t.Skipf("cmd/%s/config.go does not exist yet", bin)
			}
			svc := cf.Services[svcName]
			addrName := configtest.AddrVar(t, bin, vars)
			addr, ok := svc.Environment[addrName]
			if !ok {
				t.Fatalf("service %s does not set %s", svcName, addrName)
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("%s = %q: %v", addrName, addr, err)
			}
			if host != "0.0.0.0" {
				t.Errorf("%s host = %q, want 0.0.0.0 (reachable from the other containers)", addrName, host)
			}
			if len(svc.Ports) != 1 {
				t.Fatalf("ports = %v, want exactly one mapping", svc.Ports)
			}
			if got := containerPort(svc.Ports[0]); got != port {
				t.Errorf("published container port = %s, want %s (from %s)", got, port, addrName)
			}
			if got := hostIP(svc.Ports[0]); got != "127.0.0.1" {
				t.Errorf("published on host address %q, want 127.0.0.1", got)
			}
			if svc.Healthcheck == nil {
				t.Fatalf("service %s has no healthcheck", svcName)
			}
			want := "http://127.0.0.1:" + port + "/readyz"
			if !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), want) {
				t.Errorf("healthcheck = %v, want a request to %s", svc.Healthcheck.Test, want)
			}
		})
	}
}

// TestServiceURLsPointAtServices: every URL-valued variable names a compose
// service and the port that service listens on.
func TestServiceURLsPointAtServices(t *testing.T) {
	cf := MustLoadCompose(t)
	ports := map[string]string{}
	for name, port := range infraPorts {
		ports[name] = port
	}
	for svcName := range appServices {
		if svc, ok := cf.Services[svcName]; ok {
			for k, v := range svc.Environment {
				if strings.HasSuffix(k, "_ADDR") {
					if _, port, err := net.SplitHostPort(v); err == nil {
						ports[svcName] = port
					}
				}
			}
		}
	}
	for svcName := range appServices {
		svc := cf.Services[svcName]
		for k, v := range svc.Environment {
			if !strings.Contains(v, "://") {
				continue
			}
			t.Run(svcName+"/"+k, func(t *testing.T) {
				u, err := url.Parse(v)
				if err != nil {
					t.Fatalf("%s = %q: %v", k, v, err)
				}
				want, ok := ports[u.Hostname()]
				if !ok {
					t.Fatalf("%s = %q: host %q is not a service of docker-compose.yml", k, v, u.Hostname())
				}
				if u.Port() != want {
					t.Errorf("%s = %q: port %q, want %s (where %s listens)", k, v, u.Port(), want, u.Hostname())
				}
			})
		}
	}
}

// TestDependsOn: start order and the conditions that make it safe.
func TestDependsOn(t *testing.T) {
	cf := MustLoadCompose(t)
	want := map[string]map[string]string{
		"command-api": {"postgres": "service_healthy", "keys": "service_completed_successfully"},
		"projector":   {"postgres": "service_healthy", "elasticsearch": "service_healthy", "command-api": "service_healthy"},
		"query-api":   {"elasticsearch": "service_healthy", "keys": "service_completed_successfully"},
		"web":         {"command-api": "service_healthy", "query-api": "service_healthy"},
	}
	for svcName, deps := range want {
		t.Run(svcName, func(t *testing.T) {
			got := cf.Services[svcName].DependsOn
			for dep, cond := range deps {
				d, ok := got[dep]
				if !ok {
					t.Errorf("%s does not depend on %s", svcName, dep)
					continue
				}
				if d.Condition != cond {
					t.Errorf("%s depends on %s with condition %q, want %q", svcName, dep, d.Condition, cond)
				}
			}
		})
	}
	// Whatever is waited for as healthy must have a health check.
	for svcName, svc := range cf.Services {
		for dep, d := range svc.DependsOn {
			if d.Condition == "service_healthy" && cf.Services[dep].Healthcheck == nil {
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", svcName, dep, dep)
			}
		}
	}
}

// TestKeysAreShared: the key files the APIs read live on the volume the
// one-shot keys service writes.
func TestKeysAreShared(t *testing.T) {
	cf := MustLoadCompose(t)
	keysMount := mountOf(t, cf.Services["keys"], "keys")
	for _, c := range []struct{ svc, env string }{
		{"command-api", "JWT_PRIVATE_KEY_FILE"},
		{"query-api", "JWT_PUBLIC_KEY_FILE"},
	} {
		t.Run(c.svc, func(t *testing.T) {
			svc := cf.Services[c.svc]
			path := svc.Environment[c.env]
			mount := mountOf(t, svc, "keys")
			if !strings.HasPrefix(path, mount+"/") {
				t.Errorf("%s = %q, want a file under %s (the keys volume)", c.env, path, mount)
			}
			if !strings.Contains(strings.Join(cf.Services["keys"].Command, " "), strings.Replace(path, mount, keysMount, 1)) {
				t.Errorf("the keys service does not write %s", path)
			}
		})
	}
}

// TestCommandAPITrustsOnlyTheWebProxy: the command API believes
// X-Forwarded-For from the web container alone (its fixed address), so UI
// users do not share one rate-limit bucket and nobody else names the client.
func TestCommandAPITrustsOnlyTheWebProxy(t *testing.T) {
	cf := MustLoadCompose(t)
	webAddr := cf.Services["web"].Networks["default"].IPv4Address
	if webAddr == "" {
		t.Fatal("the web service has no fixed ipv4_address on the default network")
	}
	if got := cf.Services["command-api"].Environment["TRUSTED_PROXIES"]; got != webAddr {
		t.Errorf("command-api TRUSTED_PROXIES = %q, want the web container's address %q", got, webAddr)
	}
}

func mountOf(tb testing.TB, svc service, volume string) string {
	tb.Helper()
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[0] == volume {
			return parts[1]
		}
	}
	tb.Fatalf("volume %q is not mounted (volumes: %v)", volume, svc.Volumes)
	return ""
}

func TestPostgres(t *testing.T) {
	svc := MustLoadCompose(t).Services["postgres"]
	if !strings.HasPrefix(svc.Image, "postgres:16") {
		t.Errorf("image = %q, want postgres:16", svc.Image)
	}
	settings := map[string]string{}
	for i, arg := range svc.Command {
		if arg == "-c" && i+1 < len(svc.Command) {
			k, v, _ := strings.Cut(svc.Command[i+1], "=")
			settings[k] = v
		}
	}
	for k, want := range map[string]string{
		"wal_level":              "logical",
		"max_replication_slots":  "10",
		"max_wal_senders":        "10",
		"max_slot_wal_keep_size": "4GB",
	} {
		if got := settings[k]; got != want {
			t.Errorf("postgres -c %s = %q, want %q", k, got, want)
		}
	}
	if svc.Healthcheck == nil || !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), "pg_isready") {
		t.Errorf("healthcheck = %+v, want pg_isready", svc.Healthcheck)
	}
}

func TestElasticsearch(t *testing.T) {
	svc := MustLoadCompose(t).Services["elasticsearch"]
	if !regexp.MustCompile(`^docker\.elastic\.co/elasticsearch/elasticsearch:8\.15\.\d+$`).MatchString(svc.Image) {
		t.Errorf("image = %q, want docker.elastic.co/elasticsearch/elasticsearch:8.15.x", svc.Image)
	}
	for k, want := range map[string]string{
		"discovery.type":         "single-node",
		"xpack.security.enabled": "false",
		"ES_JAVA_OPTS":           "-Xms512m -Xmx512m",
	} {
		if got := svc.Environment[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if svc.Healthcheck == nil || !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), "_cluster/health") {
		t.Errorf("healthcheck = %+v, want a _cluster/health request", svc.Healthcheck)
	}
}

// TestDockerfileBuildsEveryCmd: the image holds every binary under cmd/ and
// the built web UI.
func TestDockerfileBuildsEveryCmd(t *testing.T) {
	root := configtest.RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	// Join continuation lines so that one RUN is one line.
	df := strings.ReplaceAll(string(data), "\\\n", " ")
	var builds []string
	for _, line := range strings.Split(df, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "RUN") && strings.Contains(line, "go build") {
			builds = append(builds, line)
		}
	}
	if len(builds) == 0 {
		t.Fatal("Dockerfile has no RUN ... go build")
	}
	all := strings.Join(builds, "\n")
	dirs, err := filepath.Glob(filepath.Join(root, "cmd", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range dirs {
		name := filepath.Base(filepath.Dir(f))
		if seen[name] {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(all, "./cmd/...") && !regexp.MustCompile(`\./cmd/`+regexp.QuoteMeta(name)+`(\s|$)`).MatchString(all) {
				t.Errorf("the Dockerfile's go build does not build ./cmd/%s", name)
			}
		})
	}
	for _, want := range []string{"FROM golang:1.26", "FROM node:20", "npm run build", "COPY --from=web-build"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
