{{- /*
JSON Patch (RFC 6902) over values: add, remove, replace, move, copy, test.
Documents travel between templates as JSON text ({"doc": ...}), since a
template can only return a string; a change rebuilds the maps and lists on
the path to it and leaves the rest shared.

natter.jsonPatch: dict "doc" <any> "patch" <list of operations> "what" <values path>
-> JSON {"doc": <patched>}
*/ -}}
{{- define "natter.jsonPatch" -}}
{{- $doc := .doc }}
{{- $what := .what }}
{{- range $i, $op := .patch }}
{{- $where := printf "%s[%d]" $what $i }}
{{- if not (kindIs "map" $op) }}
{{- fail (printf "%s: a patch operation is a map {op, path, ...}" $where) }}
{{- end }}
{{- if not (hasKey $op "path") }}
{{- fail (printf "%s: the operation has no path" $where) }}
{{- end }}
{{- $path := include "natter.jsonPointer" (dict "pointer" $op.path "where" $where) | fromJson }}
{{- if or (eq $op.op "add") (eq $op.op "replace") }}
{{- if not (hasKey $op "value") }}
{{- fail (printf "%s: %s needs a value" $where $op.op) }}
{{- end }}
{{- $doc = get (include "natter.jsonPointerSet" (dict "doc" $doc "tokens" $path.tokens "op" $op.op "value" $op.value "where" $where) | fromJson) "doc" }}
{{- else if eq $op.op "remove" }}
{{- $doc = get (include "natter.jsonPointerSet" (dict "doc" $doc "tokens" $path.tokens "op" "remove" "value" nil "where" $where) | fromJson) "doc" }}
{{- else if or (eq $op.op "move") (eq $op.op "copy") }}
{{- if not (hasKey $op "from") }}
{{- fail (printf "%s: %s needs from" $where $op.op) }}
{{- end }}
{{- $from := include "natter.jsonPointer" (dict "pointer" $op.from "where" $where) | fromJson }}
{{- $value := get (include "natter.jsonPointerGet" (dict "doc" $doc "tokens" $from.tokens "where" $where) | fromJson) "value" }}
{{- if eq $op.op "move" }}
{{- if hasPrefix (printf "%s/" $op.from) (printf "%s/" $op.path) }}
{{- if ne $op.from $op.path }}
{{- fail (printf "%s: cannot move %s into itself" $where $op.from) }}
{{- end }}
{{- end }}
{{- $doc = get (include "natter.jsonPointerSet" (dict "doc" $doc "tokens" $from.tokens "op" "remove" "value" nil "where" $where) | fromJson) "doc" }}
{{- end }}
{{- $doc = get (include "natter.jsonPointerSet" (dict "doc" $doc "tokens" $path.tokens "op" "add" "value" $value "where" $where) | fromJson) "doc" }}
{{- else if eq $op.op "test" }}
{{- $value := get (include "natter.jsonPointerGet" (dict "doc" $doc "tokens" $path.tokens "where" $where) | fromJson) "value" }}
{{- /* toJson sorts map keys, so equal values give equal text */}}
{{- if ne (toJson $value) (toJson $op.value) }}
{{- fail (printf "%s: test failed at %s: found %s, expected %s" $where $op.path (toJson $value) (toJson $op.value)) }}
{{- end }}
{{- else }}
{{- fail (printf "%s: op must be add, remove, replace, move, copy or test, not %v" $where $op.op) }}
{{- end }}
{{- end }}
{{- toJson (dict "doc" $doc) }}
{{- end }}

{{- /* natter.jsonPointer: dict "pointer" "/a/b~1c" "where" -> JSON {"tokens": ["a", "b/c"]} */ -}}
{{- define "natter.jsonPointer" -}}
{{- $tokens := list }}
{{- if ne (toString .pointer) "" }}
{{- if not (hasPrefix "/" (toString .pointer)) }}
{{- fail (printf "%s: path %q must be empty or start with /" .where .pointer) }}
{{- end }}
{{- range (rest (splitList "/" .pointer)) }}
{{- $tokens = append $tokens (. | replace "~1" "/" | replace "~0" "~") }}
{{- end }}
{{- end }}
{{- toJson (dict "tokens" $tokens) }}
{{- end }}

{{- /* natter.arrayIndex: dict "token" "len" "allowEnd" "where" -> the index as JSON {"i": n} */ -}}
{{- define "natter.arrayIndex" -}}
{{- $i := 0 }}
{{- if and .allowEnd (eq .token "-") }}
{{- $i = .len }}
{{- else if regexMatch "^(0|[1-9][0-9]*)$" .token }}
{{- $i = atoi .token }}
{{- else }}
{{- fail (printf "%s: %q is not an array index" .where .token) }}
{{- end }}
{{- if or (gt $i .len) (and (eq $i .len) (not .allowEnd)) }}
{{- fail (printf "%s: index %d is past the end of an array of %d" .where $i .len) }}
{{- end }}
{{- toJson (dict "i" $i) }}
{{- end }}

{{- /* natter.jsonPointerGet: dict "doc" "tokens" "where" -> JSON {"value": ...} */ -}}
{{- define "natter.jsonPointerGet" -}}
{{- $value := .doc }}
{{- range .tokens }}
{{- if kindIs "map" $value }}
{{- if not (hasKey $value .) }}
{{- fail (printf "%s: no key %q" $.where .) }}
{{- end }}
{{- $value = get $value . }}
{{- else if kindIs "slice" $value }}
{{- $i := (include "natter.arrayIndex" (dict "token" . "len" (len $value) "allowEnd" false "where" $.where) | fromJson).i }}
{{- $value = index $value (int $i) }}
{{- else }}
{{- fail (printf "%s: cannot look up %q in a %s" $.where . (kindOf $value)) }}
{{- end }}
{{- end }}
{{- toJson (dict "value" $value) }}
{{- end }}

{{- /* natter.jsonPointerSet: dict "doc" "tokens" "op" (add|replace|remove) "value" "where" -> JSON {"doc": ...} */ -}}
{{- define "natter.jsonPointerSet" -}}
{{- $doc := .doc }}
{{- if eq (len .tokens) 0 }}
{{- if eq .op "remove" }}
{{- fail (printf "%s: cannot remove the whole document" .where) }}
{{- end }}
{{- $doc = .value }}
{{- else }}
{{- $key := first .tokens }}
{{- $rest := rest .tokens }}
{{- $last := eq (len $rest) 0 }}
{{- if kindIs "map" $doc }}
{{- $doc = deepCopy .doc }}
{{- if and (not (hasKey $doc $key)) (or (not $last) (ne .op "add")) }}
{{- fail (printf "%s: no key %q" .where $key) }}
{{- end }}
{{- if not $last }}
{{- $_ := set $doc $key (get (include "natter.jsonPointerSet" (dict "doc" (get $doc $key) "tokens" $rest "op" .op "value" .value "where" .where) | fromJson) "doc") }}
{{- else if eq .op "remove" }}
{{- $_ := unset $doc $key }}
{{- else }}
{{- $_ := set $doc $key .value }}
{{- end }}
{{- else if kindIs "slice" $doc }}
{{- $n := len $doc }}
{{- $i := int (include "natter.arrayIndex" (dict "token" $key "len" $n "allowEnd" (and $last (eq .op "add")) "where" .where) | fromJson).i }}
{{- $before := slice $doc 0 $i }}
{{- if not $last }}
{{- $child := get (include "natter.jsonPointerSet" (dict "doc" (index $doc $i) "tokens" $rest "op" .op "value" .value "where" .where) | fromJson) "doc" }}
{{- $doc = concat $before (list $child) (slice $doc (add $i 1)) }}
{{- else if eq .op "add" }}
{{- $doc = concat $before (list .value) (slice $doc $i) }}
{{- else if eq .op "replace" }}
{{- $doc = concat $before (list .value) (slice $doc (add $i 1)) }}
{{- else }}
{{- $doc = concat $before (slice $doc (add $i 1)) }}
{{- end }}
{{- else }}
{{- fail (printf "%s: cannot go into %q of a %s" .where $key (kindOf $doc)) }}
{{- end }}
{{- end }}
{{- toJson (dict "doc" $doc) }}
{{- end }}
