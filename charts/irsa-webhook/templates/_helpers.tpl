{{/* Names, labels and the checks that values.schema.json cannot express. */}}

{{- define "irsa-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fullname: at most 52 characters, so that "<fullname>-reconcile" and friends stay within 63. */}}
{{- define "irsa-webhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "irsa-webhook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "irsa-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "irsa-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "irsa-webhook.labels" -}}
helm.sh/chart: {{ include "irsa-webhook.chart" . }}
{{ include "irsa-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "irsa-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "irsa-webhook.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "irsa-webhook.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Secret holding the serving certificate (tls.crt, tls.key) that the pods mount. */}}
{{- define "irsa-webhook.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existing-secret" }}
{{- required "certificates.existingSecret.name is required with certificates.mode=existing-secret: the name of a kubernetes.io/tls Secret in the release namespace" .Values.certificates.existingSecret.name }}
{{- else }}
{{- printf "%s-tls" (include "irsa-webhook.fullname" .) }}
{{- end }}
{{- end }}

{{/* DNS names the serving certificate must cover: how the kube-apiserver dials the Service. */}}
{{- define "irsa-webhook.dnsNames" -}}
{{- $svc := include "irsa-webhook.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.certificates.clusterDomain) | toJson }}
{{- end }}

{{/* Suffix of the webhook names: unique per release, fully qualified as the API requires. */}}
{{- define "irsa-webhook.webhookNameSuffix" -}}
{{- printf "%s.%s.svc" (include "irsa-webhook.fullname" .) .Release.Namespace }}
{{- end }}

{{/* The label that opts a pod out of mutation. */}}
{{- define "irsa-webhook.skipLabel" -}}
{{- printf "%s/skip-pod-identity-webhook" .Values.config.annotationPrefix }}
{{- end }}

{{/*
Namespaces never sent to the webhook (JSON list): webhook.excludeNamespaces, the release
namespace (the webhook must never depend on itself to start) and kube-system unless
webhook.includeKubeSystem, whatever excludeNamespaces says.
*/}}
{{- define "irsa-webhook.excludedNamespaces" -}}
{{- $excluded := concat (.Values.webhook.excludeNamespaces | default list) (list .Release.Namespace) }}
{{- if not .Values.webhook.includeKubeSystem }}
{{- $excluded = append $excluded "kube-system" }}
{{- end }}
{{- $excluded | uniq | toJson }}
{{- end }}

{{/*
Namespaces `irsa-webhook reconcile` works in (JSON list, sorted): the bindings' namespaces, or
["*"] when a binding covers every namespace (it then lists cluster-wide).
*/}}
{{- define "irsa-webhook.reconcileNamespaces" -}}
{{- $all := list }}
{{- range .Values.config.bindings }}
{{- $all = concat $all .namespaces }}
{{- end }}
{{- if has "*" $all }}
{{- list "*" | toJson }}
{{- else }}
{{- $all | uniq | sortAlpha | toJson }}
{{- end }}
{{- end }}

{{/*
Exactly what `irsa-webhook reconcile` calls, as RBAC rules (YAML list): it LISTs ServiceAccounts
in its namespaces and merge-PATCHes the role annotation onto those a binding names. With
restartWorkloads it first proves that the API server injects a new pod (a server-side dry-run
create, dryRun=All: nothing is stored, but RBAC has no dry-run-only verb), LISTs pods, follows
pod -> ReplicaSet -> Deployment owner references (GET replicasets), reads each owner's update
strategy (GET) and rolls it once by PATCHing kubectl.kubernetes.io/restartedAt into its pod
template (what `kubectl rollout restart` does); for an OnDelete StatefulSet a
PerconaServerMongoDB controls it reads that cluster's spec.updateStrategy. With dryRun it only
reads: no patch, no pod create (its proof then reports the refusal and restarts nothing anyway).
*/}}
{{- define "irsa-webhook.reconcileRules" -}}
{{- $rc := .Values.reconcile -}}
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: {{ ternary "[list]" "[list, patch]" $rc.dryRun }}
{{- if $rc.restartWorkloads }}
- apiGroups: [""]
  resources: [pods]
  verbs: {{ ternary "[list]" "[list, create]" $rc.dryRun }}
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: {{ ternary "[get]" "[get, patch]" $rc.dryRun }}
- apiGroups: [psmdb.percona.com]
  resources: [perconaservermongodbs]
  verbs: [get]
{{- end }}
{{- end }}

{{/* Pod spec of the self-signed mode's certificate Job and CronJob: (dict "root" $ "name" SA "args" list). */}}
{{- define "irsa-webhook.certificatesPod" -}}
restartPolicy: Never
serviceAccountName: {{ .name }}
automountServiceAccountToken: true
enableServiceLinks: false
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
containers:
  - name: certificates
    image: {{ include "irsa-webhook.image" .root | quote }}
    imagePullPolicy: {{ .root.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    resources:
      requests: {cpu: 10m, memory: 16Mi}
      limits: {memory: 64Mi}
    securityContext:
      {{- toYaml .root.Values.securityContext | nindent 6 }}
{{- with .root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "irsa-webhook.configDir" -}}/etc/irsa-webhook/config{{- end }}
{{- define "irsa-webhook.tlsDir" -}}/etc/irsa-webhook/tls{{- end }}
{{- define "irsa-webhook.clientCADir" -}}/etc/irsa-webhook/client-ca{{- end }}

{{/*
Checks across values that JSON Schema cannot express. Included by every template that depends
on them, so `helm template`, `helm lint` and `helm install` all fail with the same message.
*/}}
{{- define "irsa-webhook.validate" -}}
{{- $names := dict }}
{{- range $i, $b := .Values.config.bindings }}
{{- if hasKey $names $b.name }}
{{- fail (printf "config.bindings[%d]: duplicate binding name %q (names must be unique)" $i $b.name) }}
{{- end }}
{{- $_ := set $names $b.name true }}
{{- end }}
{{- $shutdown := add (int .Values.server.shutdownDelaySeconds) (int .Values.server.shutdownGraceSeconds) }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $shutdown) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed server.shutdownDelaySeconds + server.shutdownGraceSeconds (%v + %v), or the kubelet kills the server before in-flight admissions finish" .Values.terminationGracePeriodSeconds .Values.server.shutdownDelaySeconds .Values.server.shutdownGraceSeconds) }}
{{- end }}
{{- if eq .Values.server.port .Values.server.metricsPort }}
{{- fail "server.port and server.metricsPort must differ" }}
{{- end }}
{{- $w := .Values.webhook }}
{{- if eq $w.failurePolicy "Fail" }}
{{- if lt (int .Values.replicaCount) 2 }}
{{- fail "webhook.failurePolicy=Fail needs replicaCount >= 2: with a single replica every restart of the webhook blocks pod creation in the selected namespaces" }}
{{- end }}
{{- if not (or $w.namespaces (dig "matchLabels" nil ($w.namespaceSelector | default dict)) (dig "matchExpressions" nil ($w.namespaceSelector | default dict)) (dig "matchLabels" nil ($w.objectSelector | default dict)) (dig "matchExpressions" nil ($w.objectSelector | default dict))) }}
{{- fail "webhook.failurePolicy=Fail needs a scope: list the namespaces that need IAM roles in webhook.namespaces, or opt pods in with webhook.objectSelector (or namespaces with webhook.namespaceSelector); unscoped, a webhook outage blocks pod creation in every namespace" }}
{{- end }}
{{- if $w.includeKubeSystem }}
{{- fail "webhook.failurePolicy=Fail with webhook.includeKubeSystem=true is refused: an outage would block kube-system's own pods (DNS, CNI), which the webhook may need to recover" }}
{{- end }}
{{- end }}
{{- if and $w.includeKubeSystem (has "kube-system" ($w.excludeNamespaces | default list)) }}
{{- fail "webhook.includeKubeSystem=true contradicts kube-system in webhook.excludeNamespaces: remove one" }}
{{- end }}
{{- $excluded := include "irsa-webhook.excludedNamespaces" . | fromJsonArray }}
{{- range $w.namespaces }}
{{- if has . $excluded }}
{{- fail (printf "webhook.namespaces lists %q, which is excluded (webhook.excludeNamespaces, the release namespace, or kube-system without webhook.includeKubeSystem): it would select nothing" .) }}
{{- end }}
{{- end }}
{{- $ss := .Values.certificates.selfSigned }}
{{- if or (le (int $ss.caValidityDays) (int $ss.renewBeforeDays)) (le (int $ss.certValidityDays) (int $ss.renewBeforeDays)) }}
{{- fail "certificates.selfSigned: caValidityDays and certValidityDays must exceed renewBeforeDays, or every upgrade renews the certificates" }}
{{- end }}
{{- if and .Values.reconcile.restartWorkloads (not .Values.reconcile.enabled) }}
{{- fail "reconcile.restartWorkloads needs reconcile.enabled=true" }}
{{- end }}
{{- end }}
