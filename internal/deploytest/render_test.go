package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/wildcat-payments/wildcat/internal/config/configtest"
)

// chartDir and testValues are relative to the repository root.
const (
	chartDir   = "deploy/helm/wildcat"
	testValues = "deploy/helm/wildcat/ci/test-values.yaml"
	release    = "wc"
)

// prometheusRule is the part of the Prometheus Operator's CRD the chart
// renders (monitoring.coreos.com/v1; its Go types live in the operator's
// module, which this test does not need).
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ruleFile `json:"spec"`
}

// ruleFile is a Prometheus rule file: deploy/prometheus/alerts.yml.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert,omitempty"`
			Record      string            `json:"record,omitempty"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels,omitempty"`
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

// chart is a rendered chart, decoded into the Kubernetes API types and keyed
// by metadata.name.
type chart struct {
	Deployments  map[string]*appsv1.Deployment
	Services     map[string]*corev1.Service
	ConfigMaps   map[string]*corev1.ConfigMap
	Secrets      map[string]*corev1.Secret
	PDBs         map[string]*policyv1.PodDisruptionBudget
	HPAs         map[string]*autoscalingv2.HorizontalPodAutoscaler
	Jobs         map[string]*batchv1.Job
	PromRules    map[string]*prometheusRule
	AllDocuments int
}

// name is the resource name of a component in the test release.
func name(component string) string { return release + "-wildcat-" + component }

// helmBinary returns the helm that scripts/tools.sh builds: $WILDCAT_HELM, or
// .run/tools/helm. Without one the test is skipped, or fails under
// WILDCAT_REQUIRE_INTEGRATION=1 (make test, CI), which builds it first.
func helmBinary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("WILDCAT_HELM")
	if bin == "" {
		bin = filepath.Join(configtest.RepoRoot(tb), ".run", "tools", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("WILDCAT_REQUIRE_INTEGRATION") == "1" {
			tb.Fatalf("helm not found at %s (scripts/tools.sh helm builds it)", bin)
		}
		tb.Skipf("helm not found at %s: run scripts/tools.sh helm", bin)
	}
	return bin
}

// MustRender runs `helm template` on the chart with the test values and
// extra `--set` arguments, and decodes every manifest strictly: a field the
// API type does not have (a typo, a wrong indentation) fails the test.
func MustRender(tb testing.TB, set ...string) chart {
	tb.Helper()
	root := configtest.RepoRoot(tb)
	args := []string{"template", release, chartDir, "--namespace", "payments", "-f", testValues}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(helmBinary(tb), args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return mustDecode(tb, out)
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// mustDecode splits a multi-document YAML stream and decodes each document
// strictly into the type its apiVersion and kind name.
func mustDecode(tb testing.TB, out []byte) chart {
	tb.Helper()
	c := chart{
		Deployments: map[string]*appsv1.Deployment{}, Services: map[string]*corev1.Service{},
		ConfigMaps: map[string]*corev1.ConfigMap{}, Secrets: map[string]*corev1.Secret{},
		PDBs: map[string]*policyv1.PodDisruptionBudget{}, HPAs: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		Jobs: map[string]*batchv1.Job{}, PromRules: map[string]*prometheusRule{},
	}
	for _, doc := range docSeparator.Split(string(out), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			tb.Fatalf("manifest is not YAML: %v\n%s", err, doc)
		}
		c.AllDocuments++
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			decodeInto(tb, doc, c.Deployments)
		case "v1 Service":
			decodeInto(tb, doc, c.Services)
		case "v1 ConfigMap":
			decodeInto(tb, doc, c.ConfigMaps)
		case "v1 Secret":
			decodeInto(tb, doc, c.Secrets)
		case "policy/v1 PodDisruptionBudget":
			decodeInto(tb, doc, c.PDBs)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			decodeInto(tb, doc, c.HPAs)
		case "batch/v1 Job":
			decodeInto(tb, doc, c.Jobs)
		case "monitoring.coreos.com/v1 PrometheusRule":
			decodeInto(tb, doc, c.PromRules)
		default:
			tb.Fatalf("unexpected manifest %s %s (add its type to mustDecode)\n%s", tm.APIVersion, tm.Kind, doc)
		}
	}
	return c
}

// named is what every decoded object has: a name.
type named interface{ GetName() string }

// decodeInto decodes doc strictly into a new T and files it under its name.
func decodeInto[T any, PT interface {
	*T
	named
}](tb testing.TB, doc string, into map[string]PT) {
	tb.Helper()
	obj := PT(new(T))
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		tb.Fatalf("decode strictly: %v\n%s", err, doc)
	}
	if _, dup := into[obj.GetName()]; dup {
		tb.Fatalf("two manifests of one kind named %q", obj.GetName())
	}
	into[obj.GetName()] = obj
}

// stripComments drops `#` comment lines (helm's "# Source:" headers).
func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestStrictDecodingRejectsUnknownFields: the decoder this package relies
// on refuses a misspelled field, so the chart tests can fail.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	doc := "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetPrt: http}]}\n"
	var svc corev1.Service
	if err := yaml.UnmarshalStrict([]byte(doc), &svc); err == nil {
		t.Fatal("UnmarshalStrict accepted targetPrt, want an unknown-field error")
	}
}
