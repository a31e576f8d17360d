{{- /*
Values that pass the schema but make no sense together, or that ask for
something Natter does not do: the install fails here, saying which value
and why, rather than deploying less than the values say.
*/ -}}
{{- define "natter.validate" -}}
{{- $c := .Values.config }}

{{- if $c.mqtt.enabled }}
{{- fail "config.mqtt.enabled: Natter does not implement MQTT; set config.mqtt.enabled=false (use the NATS protocol, or nats-server for MQTT clients)" }}
{{- end }}
{{- if $c.profiling.enabled }}
{{- fail "config.profiling.enabled: Natter has no Go profiling port (prof_port); set config.profiling.enabled=false and use Node.js' --inspect or --cpu-prof through container.merge instead" }}
{{- end }}

{{- with $c.jetstream }}
{{- if and .enabled (not .fileStore.enabled) (not .memoryStore.enabled) }}
{{- fail "config.jetstream: JetStream is enabled with no storage: enable config.jetstream.fileStore or config.jetstream.memoryStore" }}
{{- end }}
{{- end }}

{{- if and $c.cluster.enabled $c.jetstream.enabled (eq (int $c.cluster.replicas) 2) }}
{{- fail "config.cluster.replicas: 2 replicas with JetStream cannot lose a pod (the meta group needs 2 of 2) and cannot hold an R3 stream; use 3 (or 1 without cluster)" }}
{{- end }}

{{- range $listener := list "nats" "cluster" "leafnodes" "websocket" "gateway" }}
{{- $cfg := get $c $listener }}
{{- if and (or (eq $listener "nats") $cfg.enabled) $cfg.tls.enabled }}
{{- if and (not $cfg.tls.secretName) (not (hasKey ($cfg.tls.merge | default dict) "cert_file")) }}
{{- fail (printf "config.%s.tls: TLS is enabled but config.%s.tls.secretName is not set (name the Secret holding %s and %s, or give cert_file and key_file in config.%s.tls.merge)" $listener $listener $cfg.tls.cert $cfg.tls.key $listener) }}
{{- end }}
{{- end }}
{{- end }}

{{- if and $c.monitor.enabled $c.monitor.tls.enabled (not $c.nats.tls.enabled) }}
{{- fail "config.monitor.tls.enabled: HTTPS monitoring uses the client TLS settings; enable config.nats.tls too" }}
{{- end }}
{{- if and $c.websocket.enabled $c.websocket.ingress.enabled (not .Values.service.enabled) }}
{{- fail "config.websocket.ingress.enabled: the Ingress points at the Service; enable service too" }}
{{- end }}

{{- with .Values.auth }}
{{- if .jwtUsers }}
{{- fail "auth.jwtUsers: service-to-service JWT login is not supported by Natter yet; remove auth.jwtUsers (use auth.users, or decentralized JWT auth through config.resolver and config.merge)" }}
{{- end }}
{{- if and .enabled (not .users) (not (and .user .password)) }}
{{- fail "auth.enabled: client authentication needs auth.user and auth.password, or auth.users" }}
{{- end }}
{{- range $i, $u := .users }}
{{- if not (and $u.user $u.password) }}
{{- fail (printf "auth.users[%d]: every user needs user and password" $i) }}
{{- end }}
{{- end }}
{{- if and .clusterAuth.enabled $c.cluster.enabled }}
{{- if not (and .clusterAuth.user .clusterAuth.password) }}
{{- fail "auth.clusterAuth: route authentication needs auth.clusterAuth.user and auth.clusterAuth.password" }}
{{- end }}
{{- if or $c.cluster.routeURLs.user $c.cluster.routeURLs.password }}
{{- fail "auth.clusterAuth and config.cluster.routeURLs.user/password both set route credentials; keep one" }}
{{- end }}
{{- end }}
{{- end }}

{{- if and .Values.natsBox.enabled (not .Values.natsBox.contexts) }}
{{- fail "natsBox.contexts: nats-box needs at least one context" }}
{{- end }}
{{- end }}
