{{- /*
The StatefulSet's parts, each a YAML document that its values' merge and
patch then apply to (stateful-set.yaml puts them together).
*/ -}}

{{- /* The Natter container: the official chart's arguments, environment, preStop and probes. */ -}}
{{- define "natter.container" -}}
{{- $v := .Values }}
name: nats
{{ include "natter.image" (dict "image" $v.container.image "global" $v.global "defaultTag" .Chart.AppVersion) }}
ports:
{{- range $listener := list "nats" "leafnodes" "websocket" "mqtt" "cluster" "gateway" "monitor" "profiling" }}
{{- $cfg := get $v.config $listener }}
{{- if or (eq $listener "nats") $cfg.enabled }}
- {{ merge (dict "name" $listener "containerPort" (int $cfg.port)) (get $v.container.ports $listener | default dict) | toYaml | nindent 2 }}
{{- end }}
{{- end }}
args:
- --config
- /etc/nats-config/nats.conf
env:
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: SERVER_NAME
  value: {{ printf "%s$(POD_NAME)" $v.config.serverNamePrefix | quote }}
{{- include "natter.env" $v.container.env }}
lifecycle:
  preStop:
    exec:
      # lame duck mode: hand over leaderships, stop accepting, move clients
      # away over lame_duck_duration; the image's nats-server is Natter
      command:
      - nats-server
      - -sl=ldm=/var/run/nats/nats.pid
{{- with $v.config.monitor }}
{{- if .enabled }}
{{- $scheme := ternary "HTTPS" "HTTP" (and .tls.enabled true) }}
startupProbe:
  httpGet:
    path: /healthz
    port: monitor
    scheme: {{ $scheme }}
  initialDelaySeconds: 10
  timeoutSeconds: 5
  periodSeconds: 10
  successThreshold: 1
  failureThreshold: 90
readinessProbe:
  httpGet:
    path: /healthz?js-server-only=true
    port: monitor
    scheme: {{ $scheme }}
  initialDelaySeconds: 10
  timeoutSeconds: 5
  periodSeconds: 10
  successThreshold: 1
  failureThreshold: 3
livenessProbe:
  httpGet:
    path: /healthz?js-enabled-only=true
    port: monitor
    scheme: {{ $scheme }}
  initialDelaySeconds: 10
  timeoutSeconds: 5
  periodSeconds: 30
  successThreshold: 1
  failureThreshold: 3
{{- end }}
{{- end }}
volumeMounts:
- name: config
  mountPath: /etc/nats-config
- name: pid
  mountPath: /var/run/nats
{{- with $v.config.jetstream }}
{{- if and .enabled .fileStore.enabled .fileStore.pvc.enabled }}
- name: {{ .fileStore.pvc.name }}
  mountPath: {{ .fileStore.dir | quote }}
{{- end }}
{{- end }}
{{- with $v.config.resolver }}
{{- if and .enabled .pvc.enabled }}
- name: {{ .pvc.name }}
  mountPath: {{ .dir | quote }}
{{- end }}
{{- end }}
{{- if include "natter.hasAuthSecret" . }}
- name: auth
  mountPath: /etc/nats-auth
{{- end }}
{{- with $v.tlsCA }}
{{- if and .enabled (or .configMapName .secretName) }}
- name: tls-ca
  mountPath: {{ .dir | quote }}
{{- end }}
{{- end }}
{{- range (include "natter.tlsSecrets" . | fromJson).secrets }}
- name: {{ .name }}
  mountPath: {{ .dir | quote }}
{{- end }}
resources:
  {{- toYaml $v.container.resources | nindent 2 }}
{{- end }}

{{- define "natter.podTemplate" -}}
{{- $v := .Values }}
{{- $container := include "natter.mergePatchYaml" (dict "doc" (include "natter.container" . | fromYaml) "merge" $v.container.merge "patch" $v.container.patch "what" "container") | fromYaml }}
metadata:
  labels:
    {{- include "natter.labels" . | nindent 4 }}
  {{- $annotations := dict }}
  {{- if $v.podTemplate.configChecksumAnnotation }}
  {{- $_ := set $annotations "checksum/config" (include (print .Template.BasePath "/config-map.yaml") . | sha256sum) }}
  {{- end }}
  {{- if and (include "natter.hasAuthSecret" .) (not $v.reloader.enabled) }}
  {{- /* with no config_watch, new users and route passwords need a rolling restart (lame duck first) */}}
  {{- $_ := set $annotations "checksum/auth" (include (print .Template.BasePath "/auth-secret.yaml") . | sha256sum) }}
  {{- end }}
  {{- if and $v.promExporter.enabled $v.config.monitor.enabled }}
  {{- $_ := set $annotations "prometheus.io/scrape" "true" }}
  {{- $_ := set $annotations "prometheus.io/port" (toString (int $v.config.monitor.port)) }}
  {{- $_ := set $annotations "prometheus.io/path" "/metrics" }}
  {{- $_ := set $annotations "prometheus.io/scheme" (ternary "https" "http" (and $v.config.monitor.tls.enabled true)) }}
  {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  containers:
  - {{ toYaml $container | nindent 4 }}
  # service discovery uses DNS; no service environment variables
  enableServiceLinks: false
  {{- with $v.global.image.pullSecretNames }}
  imagePullSecrets:
  {{- range . }}
  - name: {{ . | quote }}
  {{- end }}
  {{- end }}
  {{- if $v.serviceAccount.enabled }}
  serviceAccountName: {{ $v.serviceAccount.name | quote }}
  {{- end }}
  volumes:
  - name: config
    configMap:
      name: {{ $v.configMap.name }}
  - name: pid
    emptyDir: {}
  {{- if include "natter.hasAuthSecret" . }}
  - name: auth
    secret:
      secretName: {{ $v.auth.secretName }}
  {{- end }}
  {{- with $v.tlsCA }}
  {{- if and .enabled (or .configMapName .secretName) }}
  - name: tls-ca
    {{- if .configMapName }}
    configMap:
      name: {{ .configMapName | quote }}
    {{- else }}
    secret:
      secretName: {{ .secretName | quote }}
    {{- end }}
  {{- end }}
  {{- end }}
  {{- range (include "natter.tlsSecrets" . | fromJson).secrets }}
  - name: {{ .name }}
    secret:
      secretName: {{ .secretName | quote }}
  {{- end }}
  {{- with $v.podTemplate.topologySpreadConstraints }}
  topologySpreadConstraints:
  {{- range $key, $constraint := . }}
  - {{ merge (dict "topologyKey" $key "labelSelector" (dict "matchLabels" (include "natter.selectorLabels" $ | fromYaml))) $constraint | toYaml | nindent 4 }}
  {{- end }}
  {{- end }}
  {{- if $v.antiAffinity }}
  {{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "natter.selectorLabels" . | fromYaml)) }}
  affinity:
    podAntiAffinity:
      {{- if eq $v.antiAffinity "hard" }}
      requiredDuringSchedulingIgnoredDuringExecution:
      - {{ toYaml $term | nindent 8 }}
      {{- else }}
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          {{- toYaml $term | nindent 10 }}
      {{- end }}
  {{- end }}
  # the preStop lame duck (lame_duck_grace_period + lame_duck_duration) and
  # shutdown must fit in the grace period
  terminationGracePeriodSeconds: 60
{{- end }}

{{- define "natter.pvc" -}}
metadata:
  name: {{ .pvc.name }}
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: {{ .pvc.size | quote }}
  {{- with .pvc.storageClassName }}
  storageClassName: {{ . | quote }}
  {{- end }}
{{- end }}
