{{/* Environment and volumes of the Spark job (driver and executors) and its hook. */}}

{{- define "ts.job.env" -}}
{{- $j := .Values.job -}}
{{- $secrets := include "ts.secretsDir" . -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ include "ts.kafka.bootstrap" . | quote }}
- name: KAFKA_TOPIC
  value: {{ .Values.kafka.topic | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- if include "ts.kafka.usesSasl" . }}
- name: KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.saslMechanism | quote }}
- name: KAFKA_SASL_USERNAME
  value: {{ $j.kafka.user | quote }}
- name: KAFKA_SASL_PASSWORD_FILE
  value: {{ printf "%s/kafka-user/%s" $secrets $j.kafka.passwordKey | quote }}
{{- end }}
{{- if include "ts.kafka.usesTls" . }}
- name: KAFKA_SSL_CAFILE
  value: {{ printf "%s/kafka-ca/%s" $secrets .Values.kafka.tls.caKey | quote }}
{{- end }}
- name: STARTING_OFFSETS
  value: {{ $j.kafka.startingOffsets | quote }}
{{- if gt (int $j.kafka.maxOffsetsPerTrigger) 0 }}
- name: MAX_OFFSETS_PER_TRIGGER
  value: {{ $j.kafka.maxOffsetsPerTrigger | int64 | quote }}
{{- end }}
{{ include "ts.es.env" . }}
- name: ES_BULK_CHUNK_SIZE
  value: {{ $j.esBulkChunkSize | int64 | quote }}
- name: ES_MAX_RETRIES
  value: {{ $j.esMaxRetries | int64 | quote }}
- name: SENTIMENT_MODEL
  value: {{ $j.sentimentModel | quote }}
- name: SENTIMENT_LANGUAGE_SOURCE
  value: {{ $j.sentimentLanguageSource | quote }}
{{- with $j.sentimentLanguages }}
- name: SENTIMENT_LANGUAGES
  value: {{ . | quote }}
{{- end }}
- name: CHECKPOINT_LOCATION
  value: {{ include "ts.checkpointLocation" . | quote }}
- name: TRIGGER
  value: {{ $j.trigger | quote }}
- name: METRICS_PORT
  value: {{ $j.metrics.port | int64 | quote }}
- name: LOG_LEVEL
  value: {{ $j.logLevel | quote }}
{{- end -}}
{{- define "ts.job.volumeMounts" -}}
{{- $secrets := include "ts.secretsDir" . -}}
- name: spark-local-dir-tmp
  mountPath: /tmp
- name: work-dir
  mountPath: /opt/spark/work-dir
{{- if eq .Values.job.checkpoint.type "pvc" }}
- name: checkpoints
  mountPath: {{ .Values.job.checkpoint.pvc.mountPath }}
{{- end }}
{{- if include "ts.kafka.usesSasl" . }}
- name: kafka-user
  mountPath: {{ printf "%s/kafka-user" $secrets }}
  readOnly: true
{{- end }}
{{- if include "ts.kafka.usesTls" . }}
- name: kafka-ca
  mountPath: {{ printf "%s/kafka-ca" $secrets }}
  readOnly: true
{{- end }}
{{ include "ts.es.volumeMounts" . }}
{{- end -}}

{{/* Elasticsearch settings of the job and the index-template hook (same names, same secrets). */}}
{{- define "ts.es.env" -}}
{{- $secrets := include "ts.secretsDir" . -}}
- name: ES_URL
  value: {{ include "ts.es.url" . | quote }}
- name: ES_USERNAME
  value: {{ .Values.elasticsearch.jobUser.username | quote }}
- name: ES_PASSWORD_FILE
  value: {{ printf "%s/es-user/%s" $secrets .Values.elasticsearch.jobUser.passwordKey | quote }}
{{- if include "ts.es.usesTls" . }}
- name: ES_CA_CERTS
  value: {{ printf "%s/es-ca/%s" $secrets .Values.elasticsearch.tls.caKey | quote }}
{{- end }}
- name: ES_INDEX
  value: {{ .Values.elasticsearch.index | quote }}
- name: ES_DEADLETTER_INDEX
  value: {{ .Values.elasticsearch.deadLetterIndex | quote }}
{{- end -}}

{{- define "ts.es.volumeMounts" -}}
{{- $secrets := include "ts.secretsDir" . -}}
- name: es-user
  mountPath: {{ printf "%s/es-user" $secrets }}
  readOnly: true
{{- if include "ts.es.usesTls" . }}
- name: es-ca
  mountPath: {{ printf "%s/es-ca" $secrets }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "ts.es.volumes" -}}
- name: es-user
  secret:
    secretName: {{ include "ts.es.jobSecret" . }}
    items:
      - key: {{ .Values.elasticsearch.jobUser.passwordKey }}
        path: {{ .Values.elasticsearch.jobUser.passwordKey }}
{{- if include "ts.es.usesTls" . }}
- name: es-ca
  secret:
    secretName: {{ include "ts.es.caSecret" . }}
    items:
      - key: {{ .Values.elasticsearch.tls.caKey }}
        path: {{ .Values.elasticsearch.tls.caKey }}
{{- end }}
{{- end -}}
