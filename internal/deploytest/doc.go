// Package deploytest holds no code of its own: its tests check the
// deployment artifacts against the code without a cluster. The Helm chart
// (deploy/helm/wildcat) is rendered with the helm that scripts/tools.sh
// builds and every manifest decoded strictly into the Kubernetes API types;
// its ports, environment and probes must agree with the binaries' Config
// (cmd/*/config.go, read by internal/config/configtest). The alert rules
// (deploy/prometheus/alerts.yml) and the Grafana dashboard
// (deploy/grafana/wildcat.json) may name only metrics the code exports.
package deploytest
