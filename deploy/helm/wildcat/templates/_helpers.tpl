{{/* Names, labels and the one Deployment shape every binary shares. */}}

{{- define "wildcat.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* wildcat.name: the resource name of a component: (dict "root" $ "component" "query-api"). */}}
{{- define "wildcat.name" -}}
{{- printf "%s-%s" (include "wildcat.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wildcat.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "wildcat.labels" -}}
{{ include "wildcat.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "wildcat.secretName" -}}
{{- default (printf "%s-secrets" (include "wildcat.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "wildcat.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* wildcat.url: http://<component's Service>:<port> (dict "root" $ "component" "command-api" "port" 8081). */}}
{{- define "wildcat.url" -}}
{{- printf "http://%s:%v" (include "wildcat.name" .) .port -}}
{{- end -}}

{{/*
wildcat.config: the non-secret environment of a component, as a ConfigMap.
Its values' env, then what the chart sets itself (listen address, the other
services' URLs), which wins. Empty values are left out: the binary's default
applies.
*/}}
{{- define "wildcat.config" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "wildcat.name" . }}
  labels:
    {{- include "wildcat.labels" . | nindent 4 }}
data:
  {{- $env := merge (dict) .env .values.env }}
  {{- range $k, $v := $env }}
  {{- if ne (toString $v) "" }}
  {{ $k }}: {{ toString $v | quote }}
  {{- end }}
  {{- end }}
{{- end -}}

{{/*
wildcat.deployment: the Deployment of one binary. Arguments (a dict):
  root       the chart's top scope ($)
  component  the binary and resource suffix (command-api, query-api, ...)
  values     the component's values (port, replicas, resources, ...)
  secretEnv  list of (dict "name" ENV "key" SECRET_KEY "optional" bool)
  migrate    true: an init container applies the migrations first
  volumes, volumeMounts  extra ones (lists), besides /tmp
*/}}
{{- define "wildcat.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "wildcat.name" . }}
  labels:
    {{- include "wildcat.labels" . | nindent 4 }}
spec:
  {{- if not (and .values.autoscaling .values.autoscaling.enabled) }}
  replicas: {{ .values.replicas | default 1 }}
  {{- end }}
  {{- with .strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "wildcat.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "wildcat.selectorLabels" . | nindent 8 }}
      annotations:
        checksum/config: {{ .configChecksum }}
        {{- if not $root.Values.secrets.existingSecret }}
        checksum/secrets: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- end }}
        {{- if $root.Values.monitoring.scrapeAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .values.port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
    spec:
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      automountServiceAccountToken: false
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: 30
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    {{- include "wildcat.selectorLabels" . | nindent 20 }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .migrate }}
      initContainers:
        - name: migrate
          image: {{ include "wildcat.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["command-api", "migrate"]
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: {{ include "wildcat.secretName" $root }}, key: DATABASE_URL}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "wildcat.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: [{{ .component | quote }}]
          envFrom:
            - configMapRef:
                name: {{ include "wildcat.name" . }}
          {{- with .secretEnv }}
          env:
            {{- range . }}
            - name: {{ .name }}
              valueFrom:
                secretKeyRef:
                  name: {{ include "wildcat.secretName" $root }}
                  key: {{ .key }}
                  {{- if .optional }}
                  optional: true
                  {{- end }}
            {{- end }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ .values.port }}
              protocol: TCP
          startupProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- with .volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - {name: tmp, emptyDir: {}}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/* wildcat.service: a ClusterIP Service on the component's port, named http. */}}
{{- define "wildcat.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "wildcat.name" . }}
  labels:
    {{- include "wildcat.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "wildcat.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .values.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/* wildcat.pdb: a PodDisruptionBudget from values.podDisruptionBudget. */}}
{{- define "wildcat.pdb" -}}
{{- if and .values.podDisruptionBudget .values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "wildcat.name" . }}
  labels:
    {{- include "wildcat.labels" . | nindent 4 }}
spec:
  {{- if hasKey .values.podDisruptionBudget "maxUnavailable" }}
  maxUnavailable: {{ .values.podDisruptionBudget.maxUnavailable }}
  {{- else }}
  minAvailable: {{ .values.podDisruptionBudget.minAvailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "wildcat.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* wildcat.hpa: a CPU HorizontalPodAutoscaler from values.autoscaling. */}}
{{- define "wildcat.hpa" -}}
{{- if and .values.autoscaling .values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "wildcat.name" . }}
  labels:
    {{- include "wildcat.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "wildcat.name" . }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ .values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{/*
wildcat.component: ConfigMap, Deployment, Service, PodDisruptionBudget and
HorizontalPodAutoscaler of one binary; the arguments of wildcat.deployment
plus env (the variables the chart sets itself).
*/}}
{{- define "wildcat.component" -}}
{{- $config := include "wildcat.config" . -}}
{{ $config }}
---
{{ include "wildcat.deployment" (merge (dict "configChecksum" ($config | sha256sum)) .) }}
---
{{ include "wildcat.service" . }}
{{- with include "wildcat.pdb" . }}
---
{{ . }}
{{- end }}
{{- with include "wildcat.hpa" . }}
---
{{ . }}
{{- end }}
{{- end -}}
