{{/*
Names. The full name is the Service name, so it is also the first DNS name
of the serving certificate: at most 63 characters, a DNS-1035 label.
*/}}
{{- define "dns01-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dns01-webhook.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "dns01-webhook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The PKI: self-signed Issuer -> CA Certificate -> CA Issuer -> serving Certificate. */}}
{{- define "dns01-webhook.selfSignedIssuer" -}}
{{- printf "%s-selfsign" (include "dns01-webhook.fullname" .) -}}
{{- end -}}

{{- define "dns01-webhook.rootCACertificate" -}}
{{- printf "%s-ca" (include "dns01-webhook.fullname" .) -}}
{{- end -}}

{{- define "dns01-webhook.rootCAIssuer" -}}
{{- printf "%s-ca" (include "dns01-webhook.fullname" .) -}}
{{- end -}}

{{- define "dns01-webhook.servingCertificate" -}}
{{- printf "%s-webhook-tls" (include "dns01-webhook.fullname" .) -}}
{{- end -}}

{{- define "dns01-webhook.requestheaderConfigMap" -}}
{{- if .Values.requestheader.clientCA.existingConfigMap -}}
{{- .Values.requestheader.clientCA.existingConfigMap -}}
{{- else if .Values.requestheader.clientCA.pem -}}
{{- printf "%s-requestheader-ca" (include "dns01-webhook.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "dns01-webhook.labels" -}}
helm.sh/chart: {{ include "dns01-webhook.chart" . }}
{{ include "dns01-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "dns01-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dns01-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dns01-webhook.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the embedded records live in TXTRecord objects: the CRD,
the store Role and the --embedded-store flags go together. */}}
{{- define "dns01-webhook.kubeStore" -}}
{{- if and .Values.embedded.zones (eq (toString .Values.embedded.store.type) "kubernetes") -}}
true
{{- end -}}
{{- end -}}

{{- define "dns01-webhook.storeRole" -}}
{{- printf "%s:embedded-store" (include "dns01-webhook.fullname" .) -}}
{{- end -}}

{{/* ADDR:PORT for --dns-listen; IPv6 addresses in brackets. */}}
{{- define "dns01-webhook.dnsListen" -}}
{{- $addr := .Values.embedded.listenAddress | toString -}}
{{- if contains ":" $addr -}}
{{- printf "[%s]:%d" $addr (int .Values.embedded.containerPort) -}}
{{- else -}}
{{- printf "%s:%d" $addr (int .Values.embedded.containerPort) -}}
{{- end -}}
{{- end -}}

{{/*
Refuses value combinations that would install but not work. Included once,
by the Deployment.
*/}}
{{- define "dns01-webhook.validate" -}}
{{- $group := required "groupName is required (the API group issuers name in dns01.webhook.groupName)" .Values.groupName | toString -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$" $group) -}}
{{- fail (printf "groupName %q must be a lower-case DNS subdomain with at least one dot, e.g. acme.example.com" $group) -}}
{{- end -}}
{{- if gt (len $group) 253 -}}
{{- fail "groupName is longer than 253 characters" -}}
{{- end -}}
{{- if not (has (toString .Values.logLevel) (list "error" "warn" "info" "debug")) -}}
{{- fail (printf "logLevel %q: use error, warn, info or debug" (toString .Values.logLevel)) -}}
{{- end -}}
{{- if lt (int .Values.replicaCount) 1 -}}
{{- fail "replicaCount must be at least 1" -}}
{{- end -}}
{{- if not (has (toString .Values.embedded.store.type) (list "kubernetes" "memory")) -}}
{{- fail (printf "embedded.store.type %q: use kubernetes or memory" (toString .Values.embedded.store.type)) -}}
{{- end -}}
{{- if and .Values.embedded.zones (eq (toString .Values.embedded.store.type) "memory") (gt (int .Values.replicaCount) 1) -}}
{{- fail "embedded.store.type memory needs replicaCount 1: the records live in the memory of the pod that received the Present, so other replicas would answer DNS without them (use embedded.store.type kubernetes)" -}}
{{- end -}}
{{- range .Values.extraArgs -}}
{{- if hasPrefix "--embedded-store" (toString .) -}}
{{- fail (printf "extraArgs: %s: set embedded.store.type instead (the chart passes --embedded-store and its namespace, and adds the CRD and Role the kubernetes store needs)" (toString .)) -}}
{{- end -}}
{{- end -}}
{{- if not (has (toString .Values.podAntiAffinityPreset) (list "soft" "hard" "")) -}}
{{- fail (printf "podAntiAffinityPreset %q: use soft, hard or \"\"" (toString .Values.podAntiAffinityPreset)) -}}
{{- end -}}
{{- range .Values.embedded.zones -}}
{{- if not (regexMatch "^([A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?\\.)*[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?\\.?$" (toString .)) -}}
{{- fail (printf "embedded.zones: %q is not a DNS name" .) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.requestheader.clientCA.pem .Values.requestheader.clientCA.existingConfigMap -}}
{{- fail "requestheader.clientCA: set pem or existingConfigMap, not both" -}}
{{- end -}}
{{- if and (include "dns01-webhook.requestheaderConfigMap" .) (not .Values.requestheader.clientCA.key) -}}
{{- fail "requestheader.clientCA.key is required with pem or existingConfigMap" -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $i, $e := .Values.secretAccess -}}
{{- if not $e.namespace -}}
{{- fail (printf "secretAccess[%d]: namespace is required" $i) -}}
{{- end -}}
{{- if not $e.secretNames -}}
{{- fail (printf "secretAccess[%d] (namespace %s): secretNames must list the Secrets; an empty list would grant every Secret in the namespace" $i $e.namespace) -}}
{{- end -}}
{{- if hasKey $seen $e.namespace -}}
{{- fail (printf "secretAccess: namespace %s is listed twice; put all its secretNames in one entry" $e.namespace) -}}
{{- end -}}
{{- $_ := set $seen $e.namespace true -}}
{{- end -}}
{{- if or (lt (int .Values.securePort) 1024) (gt (int .Values.securePort) 65535) -}}
{{- fail "securePort must be between 1024 and 65535: the container runs as non-root without capabilities" -}}
{{- end -}}
{{- if and .Values.embedded.zones (lt (int .Values.embedded.containerPort) 1024) -}}
{{- fail "embedded.containerPort must be 1024 or higher: the container runs as non-root without capabilities; the Service maps port 53 to it" -}}
{{- end -}}
{{- end -}}
