{{/* Object names: fullnameOverride, else the release name. */}}
{{- define "satpam.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels that select the pods. */}}
{{- define "satpam.selectorLabels" -}}
app.kubernetes.io/name: satpam
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: detector
{{- end -}}

{{/* Every object's labels. */}}
{{- define "satpam.labels" -}}
{{ include "satpam.selectorLabels" . }}
app.kubernetes.io/part-of: satpam
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Refuses replica counts above the events partitions. */}}
{{- define "satpam.checkReplicas" -}}
{{- $p := int .Values.kafka.eventsPartitions -}}
{{- if gt (int .Values.replicaCount) $p -}}
{{- fail (printf "replicaCount %v is above kafka.eventsPartitions %v: the extra pods would sit idle" .Values.replicaCount $p) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) $p) -}}
{{- fail (printf "autoscaling.maxReplicas %v is above kafka.eventsPartitions %v" .Values.autoscaling.maxReplicas $p) -}}
{{- end -}}
{{- if and .Values.keda.enabled (gt (int .Values.keda.maxReplicaCount) $p) -}}
{{- fail (printf "keda.maxReplicaCount %v is above kafka.eventsPartitions %v" .Values.keda.maxReplicaCount $p) -}}
{{- end -}}
{{- end -}}

{{/* Scale up promptly, down slowly: every step rebalances the group. */}}
{{- define "satpam.scalingBehavior" -}}
scaleUp:
  stabilizationWindowSeconds: 60
  policies:
    - type: Pods
      value: 2
      periodSeconds: 120
scaleDown:
  stabilizationWindowSeconds: 900
  policies:
    - type: Pods
      value: 1
      periodSeconds: 300
{{- end -}}
