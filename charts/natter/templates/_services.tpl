{{- /*
natter.servicePorts: dict "root" $ "headless" bool -> JSON {"ports": [...]}:
one port per enabled listener, named after it, with the appProtocol the
official chart gives it. The headless Service lists every listener (routes
find each other through it); the client Service those its values enable.
*/ -}}
{{- define "natter.servicePorts" -}}
{{- $v := .root.Values }}
{{- $ports := list }}
{{- range $listener := list "nats" "leafnodes" "websocket" "mqtt" "cluster" "gateway" "monitor" "profiling" }}
{{- $cfg := get $v.config $listener }}
{{- $svc := get $v.service.ports $listener | default dict }}
{{- if and (or (eq $listener "nats") $cfg.enabled) (or $.headless $svc.enabled) }}
{{- $tls := false }}
{{- if hasKey $cfg "tls" }}
{{- $tls = $cfg.tls.enabled }}
{{- end }}
{{- $appProtocol := ternary (ternary "https" "http" (and $tls true)) (ternary "tls" "tcp" (and $tls true)) (or (eq $listener "websocket") (eq $listener "monitor")) }}
{{- $port := dict "name" $listener "port" (int $cfg.port) "targetPort" $listener "appProtocol" $appProtocol }}
{{- if not $.headless }}
{{- $port = merge (omit $svc "enabled") $port }}
{{- $_ := set $port "port" (int $cfg.port) }}
{{- end }}
{{- $ports = append $ports $port }}
{{- end }}
{{- end }}
{{- toJson (dict "ports" $ports) }}
{{- end }}
