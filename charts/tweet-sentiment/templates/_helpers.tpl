{{/* Names, labels and the secret/endpoint names derived from the operators' conventions. */}}

{{- define "ts.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ts.fullname" -}}
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

{{/* "<fullname>-<suffix>", kept within 63 characters. */}}
{{- define "ts.componentName" -}}
{{- printf "%s-%s" (include "ts.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ts.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component: pass (dict "root" $ "component" "producer"). */}}
{{- define "ts.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ts.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component. */}}
{{- define "ts.labels" -}}
helm.sh/chart: {{ include "ts.chart" .root }}
{{ include "ts.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tweet-sentiment
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels every pod of the release carries (the default-deny NetworkPolicy selects them). */}}
{{- define "ts.instanceLabels" -}}
app.kubernetes.io/name: {{ include "ts.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ts.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* ---- Kafka (Strimzi) ---- */}}
{{- define "ts.kafka.bootstrap" -}}
{{- if .Values.kafka.bootstrapServers -}}
{{- .Values.kafka.bootstrapServers -}}
{{- else -}}
{{- $port := ternary 9093 9092 (hasSuffix "SSL" .Values.kafka.securityProtocol) -}}
{{- printf "%s-kafka-bootstrap:%d" .Values.kafka.clusterName $port -}}
{{- end -}}
{{- end -}}

{{- define "ts.kafka.caSecret" -}}
{{- default (printf "%s-cluster-ca-cert" .Values.kafka.clusterName) .Values.kafka.tls.caSecret -}}
{{- end -}}

{{- define "ts.kafka.usesSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}true{{ end -}}
{{- end -}}

{{- define "ts.kafka.usesTls" -}}
{{- if hasSuffix "SSL" .Values.kafka.securityProtocol }}true{{ end -}}
{{- end -}}

{{/* ---- Elasticsearch / Kibana (ECK) ---- */}}
{{- define "ts.es.url" -}}
{{- default (printf "https://%s-es-http:9200" .Values.elasticsearch.name) .Values.elasticsearch.url -}}
{{- end -}}

{{- define "ts.es.caSecret" -}}
{{- default (printf "%s-es-http-certs-public" .Values.elasticsearch.name) .Values.elasticsearch.tls.caSecret -}}
{{- end -}}

{{- define "ts.es.usesTls" -}}
{{- if hasPrefix "https://" (include "ts.es.url" .) }}true{{ end -}}
{{- end -}}

{{/* Secret holding the job's Elasticsearch password: the file-realm user or ECK's elastic user. */}}
{{- define "ts.es.jobSecret" -}}
{{- default (printf "%s-es-elastic-user" .Values.elasticsearch.name) .Values.elasticsearch.jobUser.existingSecret -}}
{{- end -}}

{{- define "ts.es.adminSecret" -}}
{{- default (printf "%s-es-elastic-user" .Values.elasticsearch.name) .Values.kibana.user.existingSecret -}}
{{- end -}}

{{- define "ts.kibana.url" -}}
{{- default (printf "https://%s-kb-http:5601" .Values.kibana.name) .Values.kibana.url -}}
{{- end -}}

{{- define "ts.kibana.caSecret" -}}
{{- default (printf "%s-kb-http-certs-public" .Values.kibana.name) .Values.kibana.tls.caSecret -}}
{{- end -}}

{{/* Where secrets are mounted (files, not env: the apps read *_FILE settings). */}}
{{- define "ts.secretsDir" -}}/var/run/secrets/tweet-sentiment{{- end -}}

{{/* Container security context shared by our containers (restricted Pod Security Standard). */}}
{{- define "ts.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
readOnlyRootFilesystem: {{ .readOnlyRootFilesystem }}
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ts.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ts.sparkServiceAccount" -}}
{{- if .Values.job.serviceAccount.create -}}
{{- default (include "ts.componentName" (dict "root" . "component" "spark")) .Values.job.serviceAccount.name -}}
{{- else -}}
{{- required "job.serviceAccount.name is required when job.serviceAccount.create is false" .Values.job.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ts.checkpointLocation" -}}
{{- if eq .Values.job.checkpoint.type "s3a" -}}
{{- required "job.checkpoint.s3a.url is required when job.checkpoint.type is s3a" .Values.job.checkpoint.s3a.url -}}
{{- else -}}
{{- printf "%s/%s" .Values.job.checkpoint.pvc.mountPath (include "ts.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "ts.checkpointClaim" -}}
{{- default (include "ts.componentName" (dict "root" . "component" "checkpoints")) .Values.job.checkpoint.pvc.existingClaim -}}
{{- end -}}
