package deploytest

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/wildcat-payments/wildcat/internal/config/configtest"
)

// binaries are the chart's Deployments, each running the cmd/ binary of
// the same name; stateless ones are autoscaled.
var binaries = map[string]struct{ stateless bool }{
	"command-api": {stateless: true},
	"query-api":   {stateless: true},
	"processor":   {stateless: true},
	"web":         {stateless: true},
	"projector":   {stateless: false},
}

// everything renders the chart with every optional part on.
var everything = []string{"providerSim.enabled=true", "monitoring.prometheusRule.enabled=true"}

func TestChartRenders(t *testing.T) {
	for _, c := range []struct {
		name    string
		set     []string
		wantSim bool
	}{
		{"Defaults", nil, false},
		{"Everything", everything, true},
		{"ExistingSecret", []string{"secrets.existingSecret=payments-secrets", "secrets.databaseUrl="}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := MustRender(t, c.set...)
			for bin := range binaries {
				if ch.Deployments[name(bin)] == nil {
					t.Errorf("no Deployment %s", name(bin))
				}
				if ch.Services[name(bin)] == nil {
					t.Errorf("no Service %s", name(bin))
				}
			}
			if got := ch.Deployments[name("provider-sim")] != nil; got != c.wantSim {
				t.Errorf("provider-sim Deployment rendered = %v, want %v", got, c.wantSim)
			}
			_, hasSecret := ch.Secrets[name("secrets")]
			if want := c.name != "ExistingSecret"; hasSecret != want {
				t.Errorf("chart's Secret rendered = %v, want %v", hasSecret, want)
			}
		})
	}
}

// envOf is the environment a container gets: its env entries and the data
// of the ConfigMaps it takes with envFrom (secretKeyRef values are "").
func envOf(t *testing.T, ch chart, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("container %s: envFrom other than a ConfigMap", c.Name)
		}
		cm := ch.ConfigMaps[from.ConfigMapRef.Name]
		if cm == nil {
			t.Fatalf("container %s: envFrom ConfigMap %q is not rendered", c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// TestEnvironmentIsReadByBinary: every variable a container gets (its env
// and its ConfigMap) is one its binary's Config reads, init containers
// included (they run `command-api migrate`).
func TestEnvironmentIsReadByBinary(t *testing.T) {
	ch := MustRender(t, everything...)
	for depName, dep := range ch.Deployments {
		spec := dep.Spec.Template.Spec
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			t.Run(depName+"/"+c.Name, func(t *testing.T) {
				if len(c.Command) == 0 {
					t.Fatal("no command: the image has no entrypoint, the command names the binary")
				}
				bin := c.Command[0]
				vars, ok := configtest.EnvVars(t, bin)
				if !ok {
					t.Fatalf("command %v: cmd/%s/config.go does not exist", c.Command, bin)
				}
				var unknown []string
				for k := range envOf(t, ch, c) {
					if !vars[k] {
						unknown = append(unknown, k)
					}
				}
				sort.Strings(unknown)
				if len(unknown) > 0 {
					t.Errorf("sets %v, which cmd/%s does not read (it reads %v)", unknown, bin, configtest.SortedKeys(vars))
				}
			})
		}
	}
}

// TestPortsAndProbes: each binary listens on 0.0.0.0:<port> (its *_ADDR
// variable), the container declares that port as "http", the probes ask
// /healthz (startup, liveness) and /readyz (readiness) on it, and the
// Service of the same name sends its port there.
func TestPortsAndProbes(t *testing.T) {
	ch := MustRender(t, everything...)
	for depName, dep := range ch.Deployments {
		t.Run(depName, func(t *testing.T) {
			if n := len(dep.Spec.Template.Spec.Containers); n != 1 {
				t.Fatalf("%d containers, want 1", n)
			}
			c := dep.Spec.Template.Spec.Containers[0]
			vars, ok := configtest.EnvVars(t, c.Command[0])
			if !ok {
				t.Fatalf("no cmd/%s/config.go", c.Command[0])
			}
			addrName := configtest.AddrVar(t, c.Command[0], vars)
			host, port := mustSplitAddr(t, addrName, envOf(t, ch, c)[addrName])
			if host != "0.0.0.0" {
				t.Errorf("%s host = %q, want 0.0.0.0 (reachable from other pods)", addrName, host)
			}
			if len(c.Ports) != 1 || c.Ports[0].Name != "http" || itoa(c.Ports[0].ContainerPort) != port {
				t.Errorf("ports = %+v, want one named http on %s (from %s)", c.Ports, port, addrName)
			}
			for _, p := range []struct {
				probe *corev1.Probe
				kind  string
				path  string
			}{{c.StartupProbe, "startup", "/healthz"}, {c.LivenessProbe, "liveness", "/healthz"}, {c.ReadinessProbe, "readiness", "/readyz"}} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("no HTTP %s probe", p.kind)
					continue
				}
				if got := p.probe.HTTPGet.Path; got != p.path {
					t.Errorf("%s probe path = %q, want %s", p.kind, got, p.path)
				}
				if got := p.probe.HTTPGet.Port.String(); got != "http" && got != port {
					t.Errorf("%s probe port = %s, want http (%s)", p.kind, got, port)
				}
			}
			svc := ch.Services[depName]
			if svc == nil {
				t.Fatalf("no Service %s", depName)
			}
			if len(svc.Spec.Ports) != 1 || itoa(svc.Spec.Ports[0].Port) != port || svc.Spec.Ports[0].TargetPort.String() != "http" {
				t.Errorf("Service ports = %+v, want %s → http", svc.Spec.Ports, port)
			}
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
				t.Errorf("Service selector %v does not match the pods' labels %v", svc.Spec.Selector, dep.Spec.Template.Labels)
			}
		})
	}
}

func mustSplitAddr(t *testing.T, name, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s = %q: %v", name, addr, err)
	}
	return host, port
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// TestURLsPointAtServices: a URL in a container's environment that names a
// host of the release names one of its Services, on that Service's port;
// every other host is one of the test values' placeholders.
func TestURLsPointAtServices(t *testing.T) {
	ch := MustRender(t, everything...)
	for depName, dep := range ch.Deployments {
		c := dep.Spec.Template.Spec.Containers[0]
		for k, v := range envOf(t, ch, c) {
			if !strings.Contains(v, "://") {
				continue
			}
			t.Run(depName+"/"+k, func(t *testing.T) {
				u, err := url.Parse(v)
				if err != nil {
					t.Fatalf("%s = %q: %v", k, v, err)
				}
				if strings.HasSuffix(u.Hostname(), ".example.internal") {
					return // an external service of ci/test-values.yaml
				}
				svc := ch.Services[u.Hostname()]
				if svc == nil {
					t.Fatalf("%s = %q: host %q is not a Service of the chart", k, v, u.Hostname())
				}
				if got, want := u.Port(), itoa(svc.Spec.Ports[0].Port); got != want {
					t.Errorf("%s = %q: port %s, want %s", k, v, got, want)
				}
			})
		}
	}
}

// TestSecretsAreThere: every secretKeyRef that is not optional names a key
// of the chart's Secret, and the command API's JWT_PRIVATE_KEY_FILE is the
// key the Secret volume mounts.
func TestSecretsAreThere(t *testing.T) {
	ch := MustRender(t)
	secret := ch.Secrets[name("secrets")]
	if secret == nil {
		t.Fatal("no Secret")
	}
	for depName, dep := range ch.Deployments {
		spec := dep.Spec.Template.Spec
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			for _, e := range c.Env {
				ref := e.ValueFrom
				if ref == nil || ref.SecretKeyRef == nil {
					t.Errorf("%s/%s: env %s is neither in the ConfigMap nor from the Secret", depName, c.Name, e.Name)
					continue
				}
				if ref.SecretKeyRef.Name != secret.Name {
					t.Errorf("%s/%s: %s from Secret %q, want %q", depName, c.Name, e.Name, ref.SecretKeyRef.Name, secret.Name)
				}
				if _, ok := secret.Data[ref.SecretKeyRef.Key]; !ok && (ref.SecretKeyRef.Optional == nil || !*ref.SecretKeyRef.Optional) {
					t.Errorf("%s/%s: %s from key %q, which the Secret lacks", depName, c.Name, e.Name, ref.SecretKeyRef.Key)
				}
			}
		}
	}
	api := ch.Deployments[name("command-api")].Spec.Template.Spec
	keyFile := envOf(t, ch, api.Containers[0])["JWT_PRIVATE_KEY_FILE"]
	if !mountsSecretFile(api, secret, keyFile) {
		t.Errorf("JWT_PRIVATE_KEY_FILE = %q is not a file of the Secret's volume", keyFile)
	}
}

// mountsSecretFile reports whether path is an item of secret mounted in
// spec's only container.
func mountsSecretFile(spec corev1.PodSpec, secret *corev1.Secret, path string) bool {
	for _, m := range spec.Containers[0].VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil || v.Secret.SecretName != secret.Name {
				continue
			}
			for _, item := range v.Secret.Items {
				if filepath.Join(m.MountPath, item.Path) == path {
					_, ok := secret.Data[item.Key]
					return ok
				}
			}
		}
	}
	return false
}

// TestScalingAndDisruption: the stateless services have an autoscaler of at
// least two replicas and a budget that keeps one; the projector runs an
// active and a standby, is never autoscaled, never surges past its replicas
// on an update and may lose one pod at a time.
func TestScalingAndDisruption(t *testing.T) {
	ch := MustRender(t)
	for bin, b := range binaries {
		t.Run(bin, func(t *testing.T) {
			dep := ch.Deployments[name(bin)]
			hpa := ch.HPAs[name(bin)]
			if b.stateless != (hpa != nil) {
				t.Fatalf("autoscaler = %v, want %v", hpa != nil, b.stateless)
			}
			if hpa != nil {
				ref := hpa.Spec.ScaleTargetRef
				if ref.Kind != "Deployment" || ref.Name != dep.Name || ref.APIVersion != "apps/v1" {
					t.Errorf("autoscaler targets %+v, want Deployment %s", ref, dep.Name)
				}
				if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
					t.Errorf("minReplicas = %v, want ≥ 2", hpa.Spec.MinReplicas)
				}
				if dep.Spec.Replicas != nil {
					t.Errorf("replicas = %d set beside an autoscaler, which would fight it on every upgrade", *dep.Spec.Replicas)
				}
			}
			pdb := ch.PDBs[name(bin)]
			if pdb == nil {
				t.Fatal("no PodDisruptionBudget")
			}
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
				t.Errorf("budget selector %v does not match the pods (%v)", pdb.Spec.Selector, err)
			}
			c := dep.Spec.Template.Spec.Containers[0]
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
					t.Errorf("no %s request (the autoscaler and the scheduler need one)", r)
				}
			}
		})
	}
	prj := ch.Deployments[name("projector")]
	if prj.Spec.Replicas == nil || *prj.Spec.Replicas != 2 {
		t.Errorf("projector replicas = %v, want 2 (active + hot standby)", prj.Spec.Replicas)
	}
	if ru := prj.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxSurge == nil || ru.MaxSurge.IntValue() != 0 {
		t.Errorf("projector rolling update = %+v, want maxSurge 0", prj.Spec.Strategy.RollingUpdate)
	}
	if mu := ch.PDBs[name("projector")].Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 {
		t.Errorf("projector budget maxUnavailable = %v, want 1", mu)
	}
}

// TestMigrationsRunFirst: the pods that need the schema apply it in an init
// container (`command-api migrate`), and the services do not migrate again.
func TestMigrationsRunFirst(t *testing.T) {
	ch := MustRender(t)
	for _, bin := range []string{"command-api", "processor"} {
		t.Run(bin, func(t *testing.T) {
			spec := ch.Deployments[name(bin)].Spec.Template.Spec
			if len(spec.InitContainers) != 1 || strings.Join(spec.InitContainers[0].Command, " ") != "command-api migrate" {
				t.Fatalf("init containers = %+v, want one running `command-api migrate`", spec.InitContainers)
			}
			if got := envOf(t, ch, spec.Containers[0])["MIGRATE_ON_START"]; got != "false" {
				t.Errorf("MIGRATE_ON_START = %q, want false (the init container did it)", got)
			}
		})
	}
}

// TestMonitoringShipsTheFiles: the chart's alert rules and dashboard are
// deploy/prometheus/alerts.yml and deploy/grafana/wildcat.json, unchanged.
func TestMonitoringShipsTheFiles(t *testing.T) {
	root := configtest.RepoRoot(t)
	alerts := mustRead(t, filepath.Join(root, "deploy/prometheus/alerts.yml"))
	dashboard := mustRead(t, filepath.Join(root, "deploy/grafana/wildcat.json"))
	ch := MustRender(t, everything...)
	if got := ch.ConfigMaps[name("alerts")]; got == nil || got.Data["alerts.yml"] != alerts {
		t.Error("the alerts ConfigMap does not hold deploy/prometheus/alerts.yml")
	}
	cm := ch.ConfigMaps[name("dashboard")]
	if cm == nil || cm.Data["wildcat.json"] != dashboard {
		t.Error("the dashboard ConfigMap does not hold deploy/grafana/wildcat.json")
	} else if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels = %v, want grafana_dashboard=1 (Grafana's sidecar)", cm.Labels)
	}
	rule := ch.PromRules[name("alerts")]
	if rule == nil {
		t.Fatal("no PrometheusRule with monitoring.prometheusRule.enabled")
	}
	var want ruleFile
	if err := yaml.UnmarshalStrict([]byte(alerts), &want); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	gotJSON, _ := yaml.Marshal(rule.Spec)
	wantJSON, _ := yaml.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("PrometheusRule spec differs from alerts.yml:\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
