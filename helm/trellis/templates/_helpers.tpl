{{/* The labels of every object of the chart. */}}
{{- define "trellis.labels" -}}
app.kubernetes.io/name: trellis
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end }}

{{/* The labels that select Trellis's pods (Deployment, Services, PodDisruptionBudget). */}}
{{- define "trellis.selectorLabels" -}}
app.kubernetes.io/name: trellis
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/* Trellis's image: repository and tag from values, the tag defaulting to the chart's appVersion. */}}
{{- define "trellis.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* --issuer: [KIND/]NAME[/GROUP], just NAME for a cert-manager.io ClusterIssuer. */}}
{{- define "trellis.issuerFlag" -}}
{{- $i := .Values.certManager.issuer -}}
{{- if and (eq $i.kind "ClusterIssuer") (eq $i.group "cert-manager.io") -}}
{{ $i.name }}
{{- else -}}
{{ $i.kind }}/{{ $i.name }}/{{ $i.group }}
{{- end }}
{{- end }}

{{/* The Secret of the webhook's serving certificate (cert-manager writes it; the Deployment mounts it). */}}
{{- define "trellis.webhookSecret" -}}
trellis-webhook-tls
{{- end }}
