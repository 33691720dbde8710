{{/* Chart name, overridable. */}}
{{- define "visual-search.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name prefix: <release>-visual-search unless the release name already contains it. */}}
{{- define "visual-search.fullname" -}}
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

{{/* Name of one component's objects: <fullname>-<component>. Call with (dict "ctx" . "component" "search"). */}}
{{- define "visual-search.componentName" -}}
{{- printf "%s-%s" (include "visual-search.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name, instance and component only (stable across upgrades). */}}
{{- define "visual-search.selectorLabels" -}}
app.kubernetes.io/name: {{ include "visual-search.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of a component's objects. */}}
{{- define "visual-search.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "visual-search.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: visual-search
{{- end -}}

{{/* The services image reference. */}}
{{- define "visual-search.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The storefront image reference. */}}
{{- define "visual-search.storefrontImage" -}}
{{- $img := .Values.storefront.image -}}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) -}}
{{- end -}}

{{- define "visual-search.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "visual-search.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Name of the chart's Secret (API key and external store URLs). */}}
{{- define "visual-search.secretName" -}}
{{- include "visual-search.fullname" . -}}
{{- end -}}

{{/* Name of a backing-store subchart's objects, as that chart computes it.
     Call with (dict "ctx" . "chart" "qdrant"). */}}
{{- define "visual-search.storeFullname" -}}
{{- $values := index .ctx.Values .chart | default dict -}}
{{- if $values.fullnameOverride -}}
{{- $values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .chart $values.nameOverride -}}
{{- if contains $name .ctx.Release.Name -}}
{{- .ctx.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .ctx.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* autoscaling/v2 where the cluster serves it (GA since 1.23), else autoscaling/v2beta2. */}}
{{- define "visual-search.hpa.apiVersion" -}}
{{- if .Values.embedder.autoscaling.apiVersion -}}
{{- .Values.embedder.autoscaling.apiVersion -}}
{{- else if and (.Capabilities.APIVersions.Has "autoscaling/v2") (semverCompare ">=1.23-0" .Capabilities.KubeVersion.Version) -}}
autoscaling/v2
{{- else -}}
autoscaling/v2beta2
{{- end -}}
{{- end -}}

{{/* policy/v1 PodDisruptionBudget where served (GA since 1.21), else policy/v1beta1. */}}
{{- define "visual-search.pdb.apiVersion" -}}
{{- if .Values.pdbApiVersion -}}
{{- .Values.pdbApiVersion -}}
{{- else if and (.Capabilities.APIVersions.Has "policy/v1") (semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version) -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}

{{/* Traefik Middleware apiVersion: traefik.io (Traefik 3) if served, else traefik.containo.us. */}}
{{- define "visual-search.traefik.apiVersion" -}}
{{- if .Values.ingress.traefik.apiVersion -}}
{{- .Values.ingress.traefik.apiVersion -}}
{{- else if .Capabilities.APIVersions.Has "traefik.io/v1alpha1" -}}
traefik.io/v1alpha1
{{- else if .Capabilities.APIVersions.Has "traefik.containo.us/v1alpha1" -}}
traefik.containo.us/v1alpha1
{{- else -}}
traefik.io/v1alpha1
{{- end -}}
{{- end -}}

{{/* Internal URL of the embedding service. */}}
{{- define "visual-search.embedderComponent" -}}
{{- if .Values.embedder.modelSlot -}}
{{- printf "embedder-%s" .Values.embedder.modelSlot -}}
{{- else -}}
embedder
{{- end -}}
{{- end -}}

{{- define "visual-search.embedderUrl" -}}
{{- printf "http://%s:%v" (include "visual-search.componentName" (dict "ctx" . "component" (include "visual-search.embedderComponent" .))) .Values.embedder.port -}}
{{- end -}}

{{/* Store endpoints that are not secret: Qdrant URL, S3 endpoint, Redis URL without credentials. */}}
{{- define "visual-search.qdrantUrl" -}}
{{- if .Values.qdrant.enabled -}}
{{- printf "http://%s:%v" (include "visual-search.storeFullname" (dict "ctx" . "chart" "qdrant")) .Values.qdrant.service.httpPort -}}
{{- else -}}
{{- required "externalQdrant.url is required when qdrant.enabled is false" .Values.externalQdrant.url -}}
{{- end -}}
{{- end -}}

{{- define "visual-search.s3Endpoint" -}}
{{- if .Values.minio.enabled -}}
{{- printf "%s:%v" (include "visual-search.storeFullname" (dict "ctx" . "chart" "minio")) .Values.minio.service.port -}}
{{- else -}}
{{- required "externalS3.endpoint is required when minio.enabled is false" .Values.externalS3.endpoint -}}
{{- end -}}
{{- end -}}

{{/*
Environment of every application container: store credentials from Secrets, and URLs composed
from them with Kubernetes' $(VAR) expansion (so no password is ever written into a ConfigMap).
*/}}
{{- define "visual-search.storeEnv" -}}
{{- if .Values.apiKey.existingSecret }}
- name: VISUALSEARCH_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.apiKey.existingSecret }}
      key: {{ .Values.apiKey.secretKey }}
{{- end }}
{{- if .Values.postgresql.enabled }}
- name: VS_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (include "visual-search.storeFullname" (dict "ctx" . "chart" "postgresql")) .Values.postgresql.auth.existingSecret }}
      key: {{ .Values.postgresql.auth.secretKey }}
- name: VISUALSEARCH_DATABASE_URL
  value: {{ printf "postgresql://%s:$(VS_POSTGRES_PASSWORD)@%s:%v/%s" .Values.postgresql.auth.username (include "visual-search.storeFullname" (dict "ctx" . "chart" "postgresql")) .Values.postgresql.service.port .Values.postgresql.auth.database | quote }}
{{- else if .Values.externalDatabase.existingSecret }}
- name: VISUALSEARCH_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalDatabase.existingSecret }}
      key: {{ .Values.externalDatabase.secretKey }}
{{- end }}
{{- if and .Values.qdrant.enabled .Values.qdrant.apiKey.enabled }}
- name: VISUALSEARCH_QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (include "visual-search.storeFullname" (dict "ctx" . "chart" "qdrant")) .Values.qdrant.apiKey.existingSecret }}
      key: {{ .Values.qdrant.apiKey.secretKey }}
{{- else if and (not .Values.qdrant.enabled) .Values.externalQdrant.existingSecret }}
- name: VISUALSEARCH_QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalQdrant.existingSecret }}
      key: {{ .Values.externalQdrant.secretKey }}
{{- end }}
{{- $s3Secret := "" }}{{- $akKey := "" }}{{- $skKey := "" }}
{{- if .Values.minio.enabled }}
{{- $s3Secret = default (include "visual-search.storeFullname" (dict "ctx" . "chart" "minio")) .Values.minio.auth.existingSecret }}
{{- $akKey = .Values.minio.auth.userKey }}{{- $skKey = .Values.minio.auth.passwordKey }}
{{- else if .Values.externalS3.existingSecret }}
{{- $s3Secret = .Values.externalS3.existingSecret }}
{{- $akKey = .Values.externalS3.accessKeyKey }}{{- $skKey = .Values.externalS3.secretKeyKey }}
{{- end }}
{{- if $s3Secret }}
- name: VISUALSEARCH_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s3Secret }}
      key: {{ $akKey }}
- name: VISUALSEARCH_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s3Secret }}
      key: {{ $skKey }}
{{- end }}
{{- if .Values.redis.enabled }}
{{- $redisHost := include "visual-search.storeFullname" (dict "ctx" . "chart" "redis") }}
{{- if .Values.redis.auth.enabled }}
- name: VS_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default $redisHost .Values.redis.auth.existingSecret }}
      key: {{ .Values.redis.auth.secretKey }}
- name: VISUALSEARCH_REDIS_URL
  value: {{ printf "redis://:$(VS_REDIS_PASSWORD)@%s:%v/0" $redisHost .Values.redis.service.port | quote }}
{{- else }}
- name: VISUALSEARCH_REDIS_URL
  value: {{ printf "redis://%s:%v/0" $redisHost .Values.redis.service.port | quote }}
{{- end }}
{{- else if .Values.externalRedis.existingSecret }}
- name: VISUALSEARCH_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.secretKey }}
{{- end }}
{{- end -}}

{{/* Name of the ConfigMap of VISUALSEARCH_* settings. */}}
{{- define "visual-search.configMapName" -}}
{{- default (include "visual-search.fullname" .) .Values.configMapNameOverride -}}
{{- end -}}

{{/* "true" when the chart's Secret has something to hold (a generated or given API key, an
     inline external database URL); empty when every credential comes from existing Secrets. */}}
{{/* The ConfigMap of the shop's synonyms file: the user's, the chart's (synonyms.rules), or
empty (no synonyms file). */}}
{{- define "visual-search.synonymsConfigMap" -}}
{{- if .Values.synonyms.existingConfigMap -}}
{{- .Values.synonyms.existingConfigMap -}}
{{- else if .Values.synonyms.rules -}}
{{- printf "%s-synonyms" (include "visual-search.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "visual-search.hasSecret" -}}
{{- if or (not .Values.apiKey.existingSecret) (and (not .Values.postgresql.enabled) (not .Values.externalDatabase.existingSecret)) -}}
true
{{- end -}}
{{- end -}}

{{/* envFrom of every application container: the ConfigMap and the chart's Secret. */}}
{{- define "visual-search.envFrom" -}}
- configMapRef:
    name: {{ include "visual-search.configMapName" . }}
{{- if include "visual-search.hasSecret" . }}
- secretRef:
    name: {{ include "visual-search.secretName" . }}
{{- end }}
{{- end -}}

{{/* Writable places on a read-only root filesystem; caches of Python libraries go to /tmp. */}}
{{- define "visual-search.runtimeEnv" -}}
- name: HOME
  value: /tmp
- name: XDG_CACHE_HOME
  value: /tmp/.cache
- name: HF_HOME
  value: {{ printf "%s/hf" .Values.config.modelCacheDir | quote }}
- name: TORCH_HOME
  value: {{ printf "%s/torch" .Values.config.modelCacheDir | quote }}
{{- end -}}

{{/* Pod-level annotations: config checksum (rolls pods on config change) and scraping. */}}
{{- define "visual-search.podAnnotations" -}}
checksum/config: {{ include (print .ctx.Template.BasePath "/configmap.yaml") .ctx | sha256sum }}
{{- if and .port .ctx.Values.metrics.scrapeAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .ctx.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
A Deployment of the services image. Call with (dict "ctx" . "component" "search" "values"
.Values.search "args" (list "api" "--routes" "search") "port" 8000 "embedderUrl" true "modelCache" false
"synonyms" true); "synonyms" mounts the shop's synonyms file (where there is one) and points
VISUALSEARCH_SYNONYMS_FILE at it.
*/}}
{{- define "visual-search.deployment" -}}
{{- $ctx := .ctx -}}
{{- $v := .values -}}
{{- $synonyms := "" -}}
{{- if .synonyms -}}
{{- $synonyms = include "visual-search.synonymsConfigMap" $ctx -}}
{{- end -}}
{{- $sel := dict "ctx" $ctx "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "visual-search.componentName" $sel }}
  labels:
    {{- include "visual-search.labels" $sel | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- with $ctx.Values.rollingUpdate }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      {{- toYaml . | nindent 6 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "visual-search.selectorLabels" $sel | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "visual-search.labels" $sel | nindent 8 }}
      annotations:
        {{- include "visual-search.podAnnotations" (dict "ctx" $ctx "port" .port) | nindent 8 }}
    spec:
      serviceAccountName: {{ include "visual-search.serviceAccountName" $ctx }}
      automountServiceAccountToken: false
      {{- with $ctx.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $ctx.Values.podSecurityContext | nindent 8 }}
      {{- if .migrateInit }}
      initContainers:
        # The schema and collection migration (idempotent) before the API serves.
        - name: migrate
          image: {{ include "visual-search.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args: [migrate]
          envFrom:
            {{- include "visual-search.envFrom" $ctx | nindent 12 }}
          env:
            {{- include "visual-search.runtimeEnv" $ctx | nindent 12 }}
            {{- include "visual-search.storeEnv" $ctx | nindent 12 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $ctx.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      {{- end }}
      containers:
        - name: {{ .container | default .component }}
          image: {{ include "visual-search.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          {{- if $ctx.Values.drainSeconds }}
          lifecycle:
            preStop:
              exec:
                {{- if .port }}
                {{- /* SIGUSR1: answers close their connections from now on (draining.py) */}}
                command: ["sh", "-c", {{ printf "kill -USR1 1; sleep %v" $ctx.Values.drainSeconds | quote }}]
                {{- else }}
                command: ["sleep", {{ $ctx.Values.drainSeconds | toString | quote }}]
                {{- end }}
          {{- end }}
          envFrom:
            {{- include "visual-search.envFrom" $ctx | nindent 12 }}
          env:
            {{- include "visual-search.runtimeEnv" $ctx | nindent 12 }}
            {{- include "visual-search.storeEnv" $ctx | nindent 12 }}
            {{- if and .embedderUrl $ctx.Values.embedder.enabled }}
            - name: VISUALSEARCH_EMBEDDER_URL
              value: {{ include "visual-search.embedderUrl" $ctx | quote }}
            {{- end }}
            {{- if $synonyms }}
            - name: VISUALSEARCH_SYNONYMS_FILE
              value: {{ printf "%s/%s" $ctx.Values.synonyms.mountPath $ctx.Values.synonyms.key | quote }}
            {{- end }}
          {{- if .port }}
          ports:
            - name: http
              containerPort: {{ .port }}
              protocol: TCP
          startupProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 5
            failureThreshold: {{ .startupFailureThreshold | default 24 }}
          livenessProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 5
            timeoutSeconds: 5
            failureThreshold: 3
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $ctx.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if .modelCache }}
            - name: models
              mountPath: {{ $ctx.Values.config.modelCacheDir }}
            {{- end }}
            {{- if $synonyms }}
            # the directory, not a subPath: only then does the kubelet update the file in place
            - name: synonyms
              mountPath: {{ $ctx.Values.synonyms.mountPath }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if $synonyms }}
        - name: synonyms
          configMap:
            name: {{ $synonyms }}
        {{- end }}
        {{- if .modelCache }}
        - name: models
          {{- if $ctx.Values.embedder.modelCache.existingClaim }}
          persistentVolumeClaim:
            claimName: {{ $ctx.Values.embedder.modelCache.existingClaim }}
          {{- else }}
          emptyDir:
            sizeLimit: {{ $ctx.Values.embedder.modelCache.sizeLimit }}
          {{- end }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for a component. Call with (dict "ctx" . "component" "search" "values" .Values.search). */}}
{{- define "visual-search.pdb" -}}
{{- $sel := dict "ctx" .ctx "component" .component -}}
apiVersion: {{ include "visual-search.pdb.apiVersion" .ctx }}
kind: PodDisruptionBudget
metadata:
  name: {{ include "visual-search.componentName" $sel }}
  labels:
    {{- include "visual-search.labels" $sel | nindent 4 }}
spec:
  maxUnavailable: {{ .values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "visual-search.selectorLabels" $sel | nindent 6 }}
{{- end -}}

{{/* A ClusterIP Service for a component. Call with (dict "ctx" . "component" "search" "port" 8000). */}}
{{- define "visual-search.service" -}}
{{- $sel := dict "ctx" .ctx "component" .component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "visual-search.componentName" $sel }}
  labels:
    {{- include "visual-search.labels" $sel | nindent 4 }}
spec:
  type: {{ .ctx.Values.service.type }}
  selector:
    {{- include "visual-search.selectorLabels" $sel | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/* Routes of the API paths that are rate-limited: list of (path, component, port). */}}
{{- define "visual-search.apiRoutes" -}}
{{- $port := int .Values.service.apiPort -}}
{{- $routes := list -}}
{{- if or .Values.api.enabled .Values.search.enabled -}}
{{- $c := include "visual-search.apiComponent" (dict "ctx" . "component" "search") -}}
{{- $routes = append $routes (dict "path" "/search" "component" $c "port" $port) -}}
{{- $routes = append $routes (dict "path" "/info" "component" $c "port" $port) -}}
{{- $routes = append $routes (dict "path" "/events" "component" $c "port" $port) -}}
{{- /* The admin API by its prefixes, not "/admin/": an Ingress Prefix ignores a trailing slash,
so "/admin/" would also take the admin page "/admin", which the storefront serves. */ -}}
{{- range list "/admin/insights" "/admin/status" "/admin/dead-letters" -}}
{{- $routes = append $routes (dict "path" . "component" $c "port" $port) -}}
{{- end -}}
{{- end -}}
{{- if or .Values.api.enabled .Values.products.enabled -}}
{{- $routes = append $routes (dict "path" "/products" "component" (include "visual-search.apiComponent" (dict "ctx" . "component" "products")) "port" $port) -}}
{{- end -}}
{{- if or .Values.api.enabled .Values.indexer.enabled -}}
{{- $routes = append $routes (dict "path" "/index" "component" (include "visual-search.apiComponent" (dict "ctx" . "component" "indexer")) "port" $port) -}}
{{- end -}}
{{- toJson $routes -}}
{{- end -}}

{{/* The component serving a group of API routes: `api` when one Deployment serves them all. */}}
{{- define "visual-search.apiComponent" -}}
{{- ternary "api" .component .ctx.Values.api.enabled -}}
{{- end -}}

{{/* Routes that are not rate-limited: storefront files, product images, health. */}}
{{- define "visual-search.openRoutes" -}}
{{- $port := int .Values.service.apiPort -}}
{{- $routes := list -}}
{{- if or .Values.api.enabled .Values.products.enabled -}}
{{- $routes = append $routes (dict "path" "/images" "component" (include "visual-search.apiComponent" (dict "ctx" . "component" "products")) "port" $port) -}}
{{- end -}}
{{- if or .Values.api.enabled .Values.search.enabled -}}
{{- $c := include "visual-search.apiComponent" (dict "ctx" . "component" "search") -}}
{{- $routes = append $routes (dict "path" "/health" "component" $c "port" $port) -}}
{{- $routes = append $routes (dict "path" "/ready" "component" $c "port" $port) -}}
{{- end -}}
{{- if .Values.storefront.enabled -}}
{{- $routes = append $routes (dict "path" "/" "component" "storefront" "port" (int .Values.service.storefrontPort)) -}}
{{- end -}}
{{- toJson $routes -}}
{{- end -}}

{{/* Name of the Traefik rate-limit Middleware. */}}
{{- define "visual-search.middlewareName" -}}
{{- include "visual-search.componentName" (dict "ctx" . "component" "ratelimit") -}}
{{- end -}}

{{/*
A Job of the services image, named per release revision so that every upgrade runs it again.
Call with (dict "ctx" . "component" "migrate" "args" (list "migrate") "backoffLimit" 10).
*/}}
{{- define "visual-search.job" -}}
{{- $ctx := .ctx -}}
{{- $sel := dict "ctx" $ctx "component" .component -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%d" (include "visual-search.componentName" $sel) (int $ctx.Release.Revision) | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "visual-search.labels" $sel | nindent 4 }}
spec:
  backoffLimit: {{ .backoffLimit }}
  {{- with .ttl }}
  ttlSecondsAfterFinished: {{ . }}
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "visual-search.labels" $sel | nindent 8 }}
    spec:
      restartPolicy: OnFailure
      serviceAccountName: {{ include "visual-search.serviceAccountName" $ctx }}
      automountServiceAccountToken: false
      {{- with $ctx.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $ctx.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "visual-search.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          envFrom:
            {{- include "visual-search.envFrom" $ctx | nindent 12 }}
          env:
            {{- include "visual-search.runtimeEnv" $ctx | nindent 12 }}
            {{- include "visual-search.storeEnv" $ctx | nindent 12 }}
            {{- if $ctx.Values.embedder.enabled }}
            - name: VISUALSEARCH_EMBEDDER_URL
              value: {{ include "visual-search.embedderUrl" $ctx | quote }}
            {{- end }}
          resources:
            requests: {cpu: 100m, memory: 256Mi}
            limits: {cpu: "1", memory: 1Gi}
          securityContext:
            {{- toYaml $ctx.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
{{- end -}}
