{{/* Peers and rules shared by the NetworkPolicies. */}}

{{- define "ts.netpol.peer" -}}
- podSelector:
    matchLabels:
      {{- toYaml .pods | nindent 6 }}
  {{- with .ns }}
  namespaceSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- end -}}
{{- define "ts.netpol.dns" -}}
- to:
    - namespaceSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 10 }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podSelector | nindent 10 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end -}}
{{- define "ts.netpol.kafka" -}}
- to:
    {{- include "ts.netpol.peer" (dict "pods" .Values.kafka.networkPolicy.podSelector "ns" .Values.kafka.networkPolicy.namespaceSelector) | nindent 4 }}
  ports:
    {{- range .Values.kafka.networkPolicy.ports }}
    - port: {{ . | int64 }}
      protocol: TCP
    {{- end }}
{{- end -}}
{{- define "ts.netpol.es" -}}
- to:
    {{- include "ts.netpol.peer" (dict "pods" .Values.elasticsearch.networkPolicy.podSelector "ns" .Values.elasticsearch.networkPolicy.namespaceSelector) | nindent 4 }}
  ports:
    - port: 9200
      protocol: TCP
{{- end -}}
