{{- /*
The server configuration as a map (rendered as nats.conf by config-map.yaml):
the same keys and values the official nats chart writes, so a values file
written for it produces the configuration it would produce there.
*/ -}}

{{- /* natter.tlsBlock: dict "tls" <listener tls values> "root" $ "what" -> JSON {"doc": tls block} */ -}}
{{- define "natter.tlsBlock" -}}
{{- $doc := dict }}
{{- with .tls }}
{{- if .secretName }}
{{- $dir := trimSuffix "/" .dir }}
{{- $_ := set $doc "cert_file" (printf "%s/%s" $dir (.cert | default "tls.crt")) }}
{{- $_ = set $doc "key_file" (printf "%s/%s" $dir (.key | default "tls.key")) }}
{{- end }}
{{- end }}
{{- with .root.Values.tlsCA }}
{{- if and .enabled (or .configMapName .secretName) }}
{{- $_ := set $doc "ca_file" (printf "%s/%s" (trimSuffix "/" .dir) (.key | default "ca.crt")) }}
{{- end }}
{{- end }}
{{- include "natter.mergePatch" (dict "doc" $doc "merge" .tls.merge "patch" .tls.patch "what" .what) }}
{{- end }}

{{- /* natter.block: dict "doc" <listener block> "listener" <its values> "root" $ "what" -> the block with its tls block, then its merge and patch applied, as JSON {"doc": ...} */ -}}
{{- define "natter.block" -}}
{{- $doc := .doc }}
{{- if .listener.tls.enabled }}
{{- $_ := set $doc "tls" (get (include "natter.tlsBlock" (dict "tls" .listener.tls "root" .root "what" (printf "%s.tls" .what)) | fromJson) "doc") }}
{{- end }}
{{- include "natter.mergePatch" (dict "doc" $doc "merge" .listener.merge "patch" .listener.patch "what" .what) }}
{{- end }}

{{- /* natter.routeURLs -> JSON {"routes": [...]}: one URL per pod of the StatefulSet. */ -}}
{{- define "natter.routeURLs" -}}
{{- $cl := .Values.config.cluster }}
{{- $scheme := ternary "tls" "nats" (and $cl.tls.enabled true) }}
{{- $creds := "" }}
{{- if and $cl.routeURLs.user $cl.routeURLs.password }}
{{- $creds = printf "%s:%s@" (include "natter.userinfo" $cl.routeURLs.user) (include "natter.userinfo" $cl.routeURLs.password) }}
{{- else if and .Values.auth.clusterAuth.enabled .forSecret }}
{{- $creds = printf "%s:%s@" (include "natter.userinfo" .Values.auth.clusterAuth.user) (include "natter.userinfo" .Values.auth.clusterAuth.password) }}
{{- end }}
{{- $domain := .Values.headlessService.name }}
{{- if $cl.routeURLs.useFQDN }}
{{- $domain = printf "%s.%s.svc.%s" $domain (include "natter.namespace" .) $cl.routeURLs.k8sClusterDomain }}
{{- end }}
{{- $routes := list }}
{{- range $i := until (int $cl.replicas) }}
{{- $routes = append $routes (printf "%s://%s%s-%d.%s:%d" $scheme $creds $.Values.statefulSet.name $i $domain (int $cl.port)) }}
{{- end }}
{{- toJson (dict "routes" $routes) }}
{{- end }}

{{- define "natter.config" -}}
{{- $v := .Values }}
{{- $c := $v.config }}
{{- $conf := dict
  "server_name" "<< $SERVER_NAME >>"
  "lame_duck_grace_period" "10s"
  "lame_duck_duration" "30s"
  "pid_file" "/var/run/nats/nats.pid"
  "port" (int $c.nats.port) }}

{{- if $v.reloader.enabled }}
{{- /* Natter's own reloader: watch nats.conf and the files it names */}}
{{- $_ := set $conf "config_watch" true }}
{{- end }}

{{- if $c.nats.tls.enabled }}
{{- $_ := set $conf "tls" (get (include "natter.tlsBlock" (dict "tls" $c.nats.tls "root" . "what" "config.nats.tls") | fromJson) "doc") }}
{{- end }}

{{- with $c.leafnodes }}
{{- if .enabled }}
{{- $_ := set $conf "leafnodes" (get (include "natter.block" (dict "doc" (dict "port" (int .port) "no_advertise" true) "listener" . "root" $ "what" "config.leafnodes") | fromJson) "doc") }}
{{- end }}
{{- end }}

{{- with $c.websocket }}
{{- if .enabled }}
{{- $ws := dict "port" (int .port) }}
{{- if not .tls.enabled }}
{{- $_ := set $ws "no_tls" true }}
{{- end }}
{{- $_ := set $conf "websocket" (get (include "natter.block" (dict "doc" $ws "listener" . "root" $ "what" "config.websocket") | fromJson) "doc") }}
{{- end }}
{{- end }}

{{- with $c.cluster }}
{{- if .enabled }}
{{- $cluster := dict "name" $v.statefulSet.name "port" (int .port) "no_advertise" .noAdvertise }}
{{- if and $v.auth.clusterAuth.enabled (not (and .routeURLs.user .routeURLs.password)) }}
{{- /* routes carry the password: they come from the auth Secret */}}
{{- $_ := set $cluster "$include" "../nats-auth/cluster-auth.conf" }}
{{- else }}
{{- $_ := set $cluster "routes" (include "natter.routeURLs" $ | fromJson).routes }}
{{- if and .routeURLs.user .routeURLs.password }}
{{- $_ := set $cluster "authorization" (dict "user" .routeURLs.user "password" .routeURLs.password) }}
{{- end }}
{{- end }}
{{- $_ := set $conf "cluster" (get (include "natter.block" (dict "doc" $cluster "listener" . "root" $ "what" "config.cluster") | fromJson) "doc") }}
{{- end }}
{{- end }}

{{- with $c.gateway }}
{{- if .enabled }}
{{- $_ := set $conf "gateway" (get (include "natter.block" (dict "doc" (dict "name" $v.statefulSet.name "port" (int .port)) "listener" . "root" $ "what" "config.gateway") | fromJson) "doc") }}
{{- end }}
{{- end }}

{{- with $c.monitor }}
{{- if .enabled }}
{{- $_ := set $conf (ternary "https_port" "http_port" (and .tls.enabled true)) (int .port) }}
{{- end }}
{{- end }}

{{- with $c.jetstream }}
{{- if .enabled }}
{{- $js := dict }}
{{- if .memoryStore.enabled }}
{{- with .memoryStore.maxSize }}
{{- $_ := set $js "max_memory_store" (printf "<< %v >>" .) }}
{{- end }}
{{- else }}
{{- $_ := set $js "max_memory_store" 0 }}
{{- end }}
{{- if .fileStore.enabled }}
{{- $_ := set $js "store_dir" .fileStore.dir }}
{{- if .fileStore.maxSize }}
{{- $_ := set $js "max_file_store" (printf "<< %v >>" .fileStore.maxSize) }}
{{- else if .fileStore.pvc.enabled }}
{{- $_ := set $js "max_file_store" (printf "<< %v >>" .fileStore.pvc.size) }}
{{- end }}
{{- else }}
{{- $_ := set $js "max_file_store" 0 }}
{{- end }}
{{- $_ := set $conf "jetstream" (get (include "natter.mergePatch" (dict "doc" $js "merge" .merge "patch" .patch "what" "config.jetstream") | fromJson) "doc") }}
{{- end }}
{{- end }}

{{- with $c.resolver }}
{{- if .enabled }}
{{- $_ := set $conf "resolver" (get (include "natter.mergePatch" (dict "doc" (dict "dir" .dir) "merge" .merge "patch" .patch "what" "config.resolver") | fromJson) "doc") }}
{{- end }}
{{- end }}

{{- if $v.auth.enabled }}
{{- $_ := set $conf "$include" "../nats-auth/auth.conf" }}
{{- end }}

{{- include "natter.mergePatch" (dict "doc" $conf "merge" $c.merge "patch" $c.patch "what" "config") }}
{{- end }}

{{- /* natter.userinfo: a user or password escaped for a URL's userinfo (urlquery writes a space as +, which userinfo keeps as +). */ -}}
{{- define "natter.userinfo" -}}
{{- urlquery . | replace "+" "%20" }}
{{- end }}
