{{- /*
Names, labels and the small helpers every object of the chart uses.
*/ -}}

{{- /*
Objects are named as the official nats chart names them ("nats", not the
chart's name), so a release moved from that chart to this one keeps its
Service DNS names, pod names and PersistentVolumeClaims.
*/ -}}
{{- define "natter.name" -}}
{{- default "nats" .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- /* <release>-nats, or the release alone when it already contains the name. */ -}}
{{- define "natter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "natter.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "natter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "natter.metadataNamespace" -}}
{{- with .Values.namespaceOverride }}
namespace: {{ . | quote }}
{{- end }}
{{- end }}

{{- /*
natter.init fills in the object names the values leave empty (each
defaults to something derived from the full name), once per render, so
every template and helper reads one name from one place.
*/ -}}
{{- define "natter.init" -}}
{{- if not (hasKey .Values "natterNamesSet") }}
{{- $name := include "natter.fullname" . }}
{{- with .Values }}
{{- $_ := set .config.jetstream.fileStore.pvc "name" (.config.jetstream.fileStore.pvc.name | default (printf "%s-js" $name)) }}
{{- $_ = set .config.resolver.pvc "name" (.config.resolver.pvc.name | default (printf "%s-resolver" $name)) }}
{{- $_ = set .config.websocket.ingress "name" (.config.websocket.ingress.name | default (printf "%s-ws" $name)) }}
{{- $_ = set .configMap "name" (.configMap.name | default (printf "%s-config" $name)) }}
{{- $_ = set .headlessService "name" (.headlessService.name | default (printf "%s-headless" $name)) }}
{{- $_ = set .natsBox.contentsSecret "name" (.natsBox.contentsSecret.name | default (printf "%s-box-contents" $name)) }}
{{- $_ = set .natsBox.contextsSecret "name" (.natsBox.contextsSecret.name | default (printf "%s-box-contexts" $name)) }}
{{- $_ = set .natsBox.deployment "name" (.natsBox.deployment.name | default (printf "%s-box" $name)) }}
{{- $_ = set .natsBox.serviceAccount "name" (.natsBox.serviceAccount.name | default (printf "%s-box" $name)) }}
{{- $_ = set .podDisruptionBudget "name" (.podDisruptionBudget.name | default $name) }}
{{- $_ = set .service "name" (.service.name | default $name) }}
{{- $_ = set .serviceAccount "name" (.serviceAccount.name | default $name) }}
{{- $_ = set .statefulSet "name" (.statefulSet.name | default $name) }}
{{- $_ = set .promExporter.podMonitor "name" (.promExporter.podMonitor.name | default $name) }}
{{- $_ = set .auth "secretName" (.auth.secretName | default (printf "%s-auth" $name)) }}
{{- $_ = set . "natterNamesSet" true }}
{{- end }}
{{- include "natter.validate" . }}
{{- end }}
{{- end }}

{{- define "natter.labels" -}}
{{- with .Values.global.labels }}
{{ toYaml . }}
{{- end }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "natter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "natter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "natter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nats
{{- end }}

{{- define "natsBox.labels" -}}
{{- with .Values.global.labels }}
{{ toYaml . }}
{{- end }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "natsBox.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "natsBox.selectorLabels" -}}
app.kubernetes.io/name: {{ include "natter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nats-box
{{- end }}

{{- /*
natter.image: dict "image" <values image> "global" <.Values.global> "defaultTag" <tag>
-> `image:` and `imagePullPolicy:` lines.
*/ -}}
{{- define "natter.image" -}}
{{- $img := .image }}
{{- $ref := "" }}
{{- if $img.digest }}
{{- $ref = printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- $ref = printf "%s:%s" $img.repository (toString ($img.tag | default .defaultTag)) }}
{{- end }}
{{- with ($img.registry | default .global.image.registry) }}
{{- $ref = printf "%s/%s" . $ref }}
{{- end }}
{{- with $img.fullImageName }}
{{- $ref = . }}
{{- end }}
image: {{ $ref | quote }}
{{- with ($img.pullPolicy | default .global.image.pullPolicy) }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end }}

{{- /* natter.env: a map of name -> string or {valueFrom...} -> a list of EnvVar. */ -}}
{{- define "natter.env" -}}
{{- range $k, $v := . }}
{{- if kindIs "map" $v }}
- {{ merge (dict "name" $k) $v | toYaml | nindent 2 }}
{{- else if or (kindIs "string" $v) (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "bool" $v) }}
- name: {{ $k | quote }}
  value: {{ toString $v | quote }}
{{- else }}
{{- fail (printf "container env %s must be a string or a map such as {valueFrom: ...}, not %s" $k (kindOf $v)) }}
{{- end }}
{{- end }}
{{- end }}

{{- /*
natter.mergePatch: dict "doc" <map> "merge" <map> "patch" <list> "what" <values path>
-> JSON {"doc": ...}: doc with merge deep-merged over it (merge wins), then
the JSON patch (RFC 6902) applied. Every object of the chart goes through
this, so each one's `merge` and `patch` values work the same way.
*/ -}}
{{- define "natter.mergePatch" -}}
{{- $doc := deepCopy .doc }}
{{- with .merge }}
{{- if not (kindIs "map" .) }}
{{- fail (printf "%s.merge must be a map" $.what) }}
{{- end }}
{{- $doc = mergeOverwrite $doc (deepCopy .) }}
{{- end }}
{{- with .patch }}
{{- $doc = get (include "natter.jsonPatch" (dict "doc" $doc "patch" . "what" (printf "%s.patch" $.what)) | fromJson) "doc" }}
{{- end }}
{{- toJson (dict "doc" $doc) }}
{{- end }}

{{- /* natter.mergePatchYaml: natter.mergePatch, as YAML. */ -}}
{{- define "natter.mergePatchYaml" -}}
{{- get (include "natter.mergePatch" . | fromJson) "doc" | toYaml }}
{{- end }}

{{- /*
natter.formatConfig: the config map -> nats.conf text. JSON is valid NATS
configuration; two rewrites make it say what JSON cannot:
  "<< text >>"           -> text, unquoted (variables, sizes such as 1GB)
  "...$include": "path"  -> include path;
Go's JSON encoder escapes <, > and &; they are put back first.
*/ -}}
{{- define "natter.formatConfig" -}}
{{- $json := toPrettyJson . | replace "\\u003c" "<" | replace "\\u003e" ">" | replace "\\u0026" "&" }}
{{- $json = regexReplaceAll "\"[^\"\\n]*\\$include\": \"([^\"\\n]*)\",?" $json "include ${1};" }}
{{- regexReplaceAll "\"<<\\s*(.*?)\\s*>>\"" $json "${1}" }}
{{- end }}

{{- /* natter.tlsSecrets: the listeners' TLS secrets the chart mounts -> JSON {"secrets": [{name, secretName, dir}]} */ -}}
{{- define "natter.tlsSecrets" -}}
{{- $secrets := list }}
{{- range $listener := list "nats" "leafnodes" "websocket" "mqtt" "cluster" "gateway" }}
{{- $cfg := get $.Values.config $listener }}
{{- if and (or (eq $listener "nats") $cfg.enabled) $cfg.tls.enabled $cfg.tls.secretName }}
{{- $secrets = append $secrets (dict "name" (printf "%s-tls" $listener) "secretName" $cfg.tls.secretName "dir" $cfg.tls.dir) }}
{{- end }}
{{- end }}
{{- toJson (dict "secrets" $secrets) }}
{{- end }}

{{- /* natter.hasAuthSecret: "true" when the chart renders the auth Secret. */ -}}
{{- define "natter.hasAuthSecret" -}}
{{- if or .Values.auth.enabled (and .Values.config.cluster.enabled .Values.auth.clusterAuth.enabled) }}true{{ end }}
{{- end }}
