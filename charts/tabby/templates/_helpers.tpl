{{- define "tabby.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "tabby.labels" -}}
app.kubernetes.io/name: tabby
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "tabby.operatorSelector" -}}
app.kubernetes.io/name: tabby
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "tabby.agentSelector" -}}
app.kubernetes.io/name: tabby
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end -}}

{{- /* What values.schema.json also says, for installs that skip schema validation: the operator would refuse to start. */ -}}
{{- define "tabby.validate" -}}
{{- if and (ne .Values.defaultPool.ipipMode "Never") (ne .Values.defaultPool.vxlanMode "Never") -}}
{{- fail (printf "defaultPool: ipipMode %s and vxlanMode %s cannot both be enabled; set one of them to Never" .Values.defaultPool.ipipMode .Values.defaultPool.vxlanMode) -}}
{{- end -}}
{{- end -}}

{{- define "tabby.webhookSelector" -}}
app.kubernetes.io/name: tabby
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}
