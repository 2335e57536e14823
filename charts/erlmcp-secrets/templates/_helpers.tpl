{{/* Names: the release name, or release-chart when the release name lacks the chart's. */}}
{{- define "erlmcp-secrets.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The webhook's Deployment, Service, ServiceAccount and PDB share this name. */}}
{{- define "erlmcp-secrets.webhookName" -}}
{{- printf "%s-webhook" (include "erlmcp-secrets.fullname" .) -}}
{{- end -}}

{{- define "erlmcp-secrets.tlsSecretName" -}}
{{- printf "%s-tls" (include "erlmcp-secrets.webhookName" .) -}}
{{- end -}}

{{- define "erlmcp-secrets.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "erlmcp-secrets.labels" -}}
{{ include "erlmcp-secrets.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Image references: the only place the templates build one, from .Values.image.
     With a digest: repository:tag@digest. The runtime pulls by the digest; the
     tag stays for people (and says which of the two images it is). */}}
{{- define "erlmcp-secrets.imageRef" -}}
{{- $ref := printf "%s:%s" .repository .tag -}}
{{- if .digest }}{{ $ref = printf "%s@%s" $ref .digest }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{- define "erlmcp-secrets.agentImage" -}}
{{- include "erlmcp-secrets.imageRef" (dict "repository" .Values.image.agent.repository "tag" (.Values.image.agent.tag | default .Chart.AppVersion) "digest" .Values.image.agent.digest) -}}
{{- end -}}

{{- define "erlmcp-secrets.binaryImage" -}}
{{- include "erlmcp-secrets.imageRef" (dict "repository" .Values.image.binary.repository "tag" (.Values.image.binary.tag | default (printf "%s-binary" .Chart.AppVersion)) "digest" .Values.image.binary.digest) -}}
{{- end -}}

{{/* The DNS names the API server may use for the Service: the serving certificate covers all of them. */}}
{{- define "erlmcp-secrets.dnsNames" -}}
{{- $svc := include "erlmcp-secrets.webhookName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.certificates.clusterDomain) | toJson -}}
{{- end -}}

{{- define "erlmcp-secrets.outOfCluster" -}}
{{- if .Values.webhook.url }}true{{ end -}}
{{- end -}}

{{/* Mount points inside the webhook container. */}}
{{- define "erlmcp-secrets.tlsDir" -}}/etc/erlmcp-secrets/tls{{- end -}}
{{- define "erlmcp-secrets.configDir" -}}/etc/erlmcp-secrets/config{{- end -}}
