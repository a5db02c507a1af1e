{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "asymcdc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: release + chart unless the release already says it. */}}
{{- define "asymcdc.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "asymcdc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: asymcdc
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector of one role's silo pods; call with (dict "ctx" $ "component" "frontend"). */}}
{{- define "asymcdc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "asymcdc.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "asymcdc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "asymcdc.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where the Orleans membership table lives: the in-release Redis, or the one the user names. */}}
{{- define "asymcdc.redisConnectionString" -}}
{{- if .Values.redis.enabled }}
{{- printf "%s-redis:6379" (include "asymcdc.fullname" .) }}
{{- else }}
{{- required "silo.redisConnectionString is required when redis.enabled is false: both clustering modes keep membership in Redis" .Values.silo.redisConnectionString }}
{{- end }}
{{- end }}

{{/* Kubernetes must not SIGKILL a silo that is still draining: preStop + drain + 15 s margin. */}}
{{- define "asymcdc.terminationGracePeriodSeconds" -}}
{{- add .Values.silo.preStopDelaySeconds .Values.silo.drainTimeoutSeconds 15 }}
{{- end }}

{{/* Seconds as a .NET TimeSpan (hh:mm:ss), the format of AsymCdc:Silo:DrainTimeout. */}}
{{- define "asymcdc.drainTimeout" -}}
{{- $s := int .Values.silo.drainTimeoutSeconds }}
{{- printf "%02d:%02d:%02d" (div $s 3600) (mod (div $s 60) 60) (mod $s 60) }}
{{- end }}

{{/* Pod template labels and annotations shared by both roles. */}}
{{- define "asymcdc.podMetadata" -}}
labels:
  {{- include "asymcdc.selectorLabels" . | nindent 2 }}
  app.kubernetes.io/part-of: asymcdc
  # UseKubernetesHosting lists this cluster's pods by these labels; the silo reads them back.
  orleans/serviceId: {{ .ctx.Values.orleans.serviceId | quote }}
  orleans/clusterId: {{ .ctx.Values.orleans.clusterId | quote }}
annotations:
  checksum/config: {{ include (print .ctx.Template.BasePath "/configmap.yaml") .ctx | sha256sum }}
  {{- if .ctx.Values.metrics.scrapeAnnotations }}
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ .ctx.Values.silo.httpPort | quote }}
  prometheus.io/path: /metrics
  {{- end }}
{{- end }}

{{/* Environment of a silo container; call with (dict "ctx" $ "role" "frontend" "provider" "cpu"). */}}
{{- define "asymcdc.siloEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "asymcdc.fullname" .ctx }}
env:
  - name: AsymCdc__Silo__Roles
    value: {{ .role | quote }}
  - name: AsymCdc__Inference__ExecutionProvider
    value: {{ .provider | quote }}
  {{- if eq .role "frontend" }}
  # KServe v2 gRPC, frontends only (0 = off).
  - name: AsymCdc__Silo__GrpcPort
    value: {{ .ctx.Values.frontend.grpcPort | quote }}
  {{- end }}
  - name: AsymCdc__Silo__ServiceId
    valueFrom:
      fieldRef:
        fieldPath: metadata.labels['orleans/serviceId']
  - name: AsymCdc__Silo__ClusterId
    valueFrom:
      fieldRef:
        fieldPath: metadata.labels['orleans/clusterId']
  - name: ORLEANS_SERVICE_ID
    valueFrom:
      fieldRef:
        fieldPath: metadata.labels['orleans/serviceId']
  - name: ORLEANS_CLUSTER_ID
    valueFrom:
      fieldRef:
        fieldPath: metadata.labels['orleans/clusterId']
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
  - name: POD_IP
    valueFrom:
      fieldRef:
        fieldPath: status.podIP
  {{- with .ctx.Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Probes on the silo's health endpoints (docs/OPERATIONS.md, "Probes"). */}}
{{- define "asymcdc.probes" -}}
startupProbe:
  httpGet:
    path: /health/startup
    port: http
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
readinessProbe:
  httpGet:
    path: /health/ready
    port: http
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
livenessProbe:
  httpGet:
    path: /health/live
    port: http
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ .Values.silo.preStopDelaySeconds }}
{{- end }}
