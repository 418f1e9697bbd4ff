// Tests of charts/irsa-webhook: lint, render in every mode, strict schema of every object, the
// webhook configuration, security, RBAC per mode, certificates, values schema, deploy/, and the
// Percona acceptance through `irsa-webhook mutate`. Run by tests/chart/run.sh (node --test).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import {
  b64decode, chartDir, find, fullname, helm, namespace, one, podSpecOf, podTemplateMetadataOf,
  release, render, renderFails, root, run, runOk, testDir, workDir, writeTemp,
} from "./lib/helpers.mjs";
import { typecheck, unknownKind, validateWithModel } from "./lib/typecheck.mjs";

const values = (name) => path.join(testDir, "values", name);
const perconaValues = path.join(root, "examples/helm/percona-values.yaml");
const generatedDir = path.join(testDir, ".generated");

// A CA and a serving certificate made with openssl, for certificates.mode=existing-secret.
function makeExternalCA() {
  const dir = path.join(workDir, "external-ca");
  fs.mkdirSync(dir, { recursive: true });
  runOk("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=external-ca",
    "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt")]);
  return { caFile: path.join(dir, "ca.crt"), caPem: fs.readFileSync(path.join(dir, "ca.crt"), "utf8") };
}
const externalCA = makeExternalCA();

// Every scenario the chart must render; each is linted, type-checked and validated.
const scenarios = {
  "default (self-signed)": [],
  "cert-manager": ["--set", "certificates.mode=cert-manager"],
  "cert-manager with a ClusterIssuer": ["--set", "certificates.mode=cert-manager",
    "--set", "certificates.certManager.issuerRef.kind=ClusterIssuer", "--set", "certificates.certManager.issuerRef.name=my-ca"],
  "existing-secret (PEM caBundle)": ["--set", "certificates.mode=existing-secret",
    "--set", "certificates.existingSecret.name=my-webhook-tls", "--set-file", `certificates.existingSecret.caBundle=${externalCA.caFile}`],
  "existing-secret (base64 caBundle)": ["--set", "certificates.mode=existing-secret",
    "--set", "certificates.existingSecret.name=my-webhook-tls",
    "--set", `certificates.existingSecret.caBundle=${Buffer.from(externalCA.caPem).toString("base64")}`],
  "percona example": ["-f", perconaValues],
  "everything on": ["-f", values("everything.yaml"), "--set-file", `tls.clientCA=${externalCA.caFile}`],
  "config-only": ["-f", values("config-only.yaml")],
  "reconcile without restarts": ["-f", values("reconcile-annotate.yaml")],
  "host network": ["-f", values("host-network.yaml")],
};
const rendered = {};
for (const [name, args] of Object.entries(scenarios)) rendered[name] = render(args);

describe("helm lint --strict", () => {
  for (const [name, args] of Object.entries(scenarios)) {
    test(name, () => {
      const r = run(helm, ["lint", "--strict", chartDir, "--namespace", namespace, ...args]);
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });
  }
});

describe("strict schema of every rendered object", () => {
  test("every kind has a type (kubernetes-models or crd-types.ts)", () => {
    const problems = Object.values(rendered).flat().map(unknownKind).filter(Boolean);
    assert.deepEqual([...new Set(problems)], []);
  });

  test("tsc --strict accepts every object of every scenario (excess properties fail)", () => {
    const entries = Object.entries(rendered).flatMap(([name, objects]) =>
      objects.map((object) => ({ label: `${name}: ${object.kind} ${object.metadata?.name}`, object })));
    const r = typecheck(entries, path.join(generatedDir, "rendered"));
    assert.ok(r.ok, r.output);
  });

  test("the type check catches an unknown field (self-test)", () => {
    const deployment = structuredClone(one(rendered["default (self-signed)"], "Deployment"));
    podSpecOf(deployment).containers[0].readinessProbes = podSpecOf(deployment).containers[0].readinessProbe;
    const certificate = structuredClone(one(rendered["cert-manager"], "Certificate", `${fullname}-serving`));
    certificate.spec.dnsName = certificate.spec.dnsNames;
    const webhook = structuredClone(one(rendered["default (self-signed)"], "MutatingWebhookConfiguration"));
    webhook.webhooks[0].failurePolicy = "Never";
    for (const [label, object, expected] of [
      ["deployment", deployment, /readinessProbes/],
      ["certificate", certificate, /dnsName/],
      ["webhook", webhook, /"Never"/],
    ]) {
      const r = typecheck([{ label, object }], path.join(generatedDir, `self-test-${label}`));
      assert.equal(r.ok, false, `tsc accepted a bad ${label}`);
      assert.match(r.output, expected);
    }
  });

  test("kubernetes-models validate() accepts every built-in object", () => {
    const problems = Object.values(rendered).flat().map(validateWithModel).filter(Boolean);
    assert.deepEqual(problems, []);
  });

  test("every namespaced object is in the release namespace, names within limits", () => {
    const clusterScoped = new Set(["ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "Namespace"]);
    for (const [name, objects] of Object.entries(rendered)) {
      for (const o of objects) {
        assert.ok(o.metadata.name.length <= 63, `${name}: ${o.kind} ${o.metadata.name} is too long`);
        if (clusterScoped.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${o.kind} ${o.metadata.name}`);
        else assert.equal(o.metadata.namespace, namespace, `${name}: ${o.kind} ${o.metadata.name}`);
      }
    }
  });
});

describe("MutatingWebhookConfiguration", () => {
  const defaults = rendered["default (self-signed)"];
  const webhookConfig = one(defaults, "MutatingWebhookConfiguration", fullname);
  const [pods, psmdb] = webhookConfig.webhooks;
  const namespaceSelector = (nsList) => ({
    matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: nsList }],
  });

  test("two webhooks: pods + ServiceAccounts, and PerconaServerMongoDB warnings", () => {
    assert.equal(webhookConfig.webhooks.length, 2);
    assert.equal(pods.name, `pod-identity.${fullname}.${namespace}.svc`);
    assert.equal(psmdb.name, `psmdb-warnings.${fullname}.${namespace}.svc`);
  });

  test("pods CREATE and serviceaccounts CREATE/UPDATE", () => {
    assert.deepEqual(pods.rules, [
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" },
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["serviceaccounts"], scope: "Namespaced" },
    ]);
  });

  test("webhook.url: every webhook calls the URL instead of the Service; the self-signed certificate covers its host", () => {
    for (const [url, san] of [["https://127.0.0.1:9443/mutate", "IP Address:127.0.0.1"], ["https://webhook.dev.example:9443/mutate", "DNS:webhook.dev.example"]]) {
      const objects = render(["--set", `webhook.url=${url}`]);
      for (const w of one(objects, "MutatingWebhookConfiguration").webhooks) assert.deepEqual(w.clientConfig, { url, caBundle: w.clientConfig.caBundle });
      const crt = b64decode(one(objects, "Secret", `${fullname}-tls`).data["tls.crt"]);
      const sans = runOk("openssl", ["x509", "-noout", "-ext", "subjectAltName"], { input: crt });
      assert.ok(sans.includes(san), sans);
      assert.ok(sans.includes(`DNS:${fullname}.${namespace}.svc`), sans);
    }
    assert.match(renderFails(["--set", "webhook.url=http://127.0.0.1:9443/mutate"]), /webhook\.url: Does not match pattern/);
  });

  test("protocol fields of the pod webhook", () => {
    assert.deepEqual(pods.admissionReviewVersions, ["v1", "v1beta1"]);
    assert.equal(pods.sideEffects, "None");
    assert.equal(pods.failurePolicy, "Ignore");
    assert.equal(pods.timeoutSeconds, 5);
    assert.equal(pods.reinvocationPolicy, "IfNeeded");
    assert.equal(pods.matchPolicy, "Equivalent");
  });

  test("clientConfig points at the Service's https port, path /mutate", () => {
    for (const w of webhookConfig.webhooks) {
      assert.deepEqual(w.clientConfig.service, { name: fullname, namespace, path: "/mutate", port: 443 });
    }
    const service = one(defaults, "Service", fullname);
    const https = service.spec.ports.find((p) => p.name === "https");
    assert.deepEqual([https.port, https.targetPort], [443, "https"]);
    const container = podSpecOf(one(defaults, "Deployment")).containers[0];
    assert.equal(container.ports.find((p) => p.name === "https").containerPort, 8443);
    assert.ok(container.args.includes("--port=8443"));
  });

  test("namespaceSelector skips kube-system and the release namespace", () => {
    assert.deepEqual(pods.namespaceSelector, namespaceSelector(["kube-system", namespace]));
    assert.deepEqual(psmdb.namespaceSelector, pods.namespaceSelector);
  });

  test("namespaceSelector restricted to listed namespaces when set", () => {
    const percona = one(rendered["percona example"], "MutatingWebhookConfiguration").webhooks[0];
    assert.deepEqual(percona.namespaceSelector.matchExpressions, [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", namespace] },
      { key: "kubernetes.io/metadata.name", operator: "In", values: ["psmdb"] },
    ]);
    const everything = one(rendered["everything on"], "MutatingWebhookConfiguration").webhooks[0];
    assert.deepEqual(everything.namespaceSelector.matchExpressions, [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "kube-node-lease", "kube-public", namespace] },
      { key: "kubernetes.io/metadata.name", operator: "In", values: ["psmdb", "psmdb-staging", "reporting"] },
    ]);
  });

  test("objectSelector honours the skip label of the annotation prefix", () => {
    assert.deepEqual(pods.objectSelector, {
      matchExpressions: [{ key: "eks.amazonaws.com/skip-pod-identity-webhook", operator: "DoesNotExist" }],
    });
    const everything = one(rendered["everything on"], "MutatingWebhookConfiguration").webhooks[0];
    assert.deepEqual(everything.objectSelector, {
      matchExpressions: [{ key: "iam.example.com/skip-pod-identity-webhook", operator: "DoesNotExist" }],
    });
  });

  test("PerconaServerMongoDB: warnings only, always Ignore, never reinvoked", () => {
    assert.deepEqual(psmdb.rules, [{
      apiGroups: ["psmdb.percona.com"], apiVersions: ["*"], operations: ["CREATE", "UPDATE"],
      resources: ["perconaservermongodbs"], scope: "Namespaced",
    }]);
    assert.deepEqual(psmdb.admissionReviewVersions, ["v1", "v1beta1"]);
    assert.equal(psmdb.sideEffects, "None");
    assert.equal(psmdb.reinvocationPolicy, "Never");
    const everything = one(rendered["everything on"], "MutatingWebhookConfiguration").webhooks;
    assert.deepEqual(everything.map((w) => [w.failurePolicy, w.timeoutSeconds]), [["Fail", 10], ["Ignore", 10]]);
  });

  test("percona.warnings=false drops the PerconaServerMongoDB webhook", () => {
    const w = one(rendered["config-only"], "MutatingWebhookConfiguration").webhooks;
    assert.deepEqual(w.map((x) => x.name), [`pod-identity.${fullname}.${namespace}.svc`]);
  });
});

describe("workload: Deployment, security, probes, config mount", () => {
  const defaults = rendered["default (self-signed)"];
  const deployment = one(defaults, "Deployment", fullname);
  const spec = podSpecOf(deployment);
  const container = spec.containers[0];

  test("restricted securityContext on every pod and container of every scenario", () => {
    for (const [name, objects] of Object.entries(rendered)) {
      for (const o of objects.filter((x) => ["Deployment", "Job", "Pod"].includes(x.kind))) {
        const where = `${name}: ${o.kind} ${o.metadata.name}`;
        const ps = podSpecOf(o);
        assert.equal(ps.securityContext.runAsNonRoot, true, where);
        assert.equal(ps.securityContext.runAsUser, 65532, where);
        assert.deepEqual(ps.securityContext.seccompProfile, { type: "RuntimeDefault" }, where);
        assert.equal(ps.hostPID, undefined, where);
        assert.equal(ps.hostIPC, undefined, where);
        for (const c of [...(ps.initContainers ?? []), ...ps.containers]) {
          const sc = c.securityContext;
          assert.equal(sc.runAsNonRoot, true, `${where} ${c.name}`);
          assert.equal(sc.runAsUser, 65532, `${where} ${c.name}`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${where} ${c.name}`);
          assert.equal(sc.allowPrivilegeEscalation, false, `${where} ${c.name}`);
          assert.equal(sc.privileged, false, `${where} ${c.name}`);
          assert.deepEqual(sc.capabilities, { drop: ["ALL"] }, `${where} ${c.name}`);
          assert.deepEqual(sc.seccompProfile, { type: "RuntimeDefault" }, `${where} ${c.name}`);
          assert.ok(c.resources?.limits?.memory, `${where} ${c.name}: memory limit`);
        }
        for (const v of ps.volumes ?? []) assert.equal(v.hostPath, undefined, `${where}: hostPath volume`);
        assert.equal(ps.hostNetwork, name === "host network" && o.kind === "Deployment" ? true : undefined, where);
      }
    }
  });

  test("two replicas, spread over zones and nodes, PDB minAvailable 1", () => {
    assert.equal(deployment.spec.replicas, 2);
    assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
    assert.deepEqual(spec.topologySpreadConstraints.map((t) => [t.topologyKey, t.whenUnsatisfiable]), [
      ["topology.kubernetes.io/zone", "ScheduleAnyway"], ["kubernetes.io/hostname", "ScheduleAnyway"]]);
    const podLabels = podTemplateMetadataOf(deployment).labels;
    for (const t of spec.topologySpreadConstraints) {
      for (const [k, v] of Object.entries(t.labelSelector.matchLabels)) assert.equal(podLabels[k], v);
    }
    const anti = spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
    assert.equal(anti.podAffinityTerm.topologyKey, "kubernetes.io/hostname");
    const pdb = one(defaults, "PodDisruptionBudget", fullname);
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(podLabels[k], v);
    assert.equal(spec.priorityClassName, "system-cluster-critical");
  });

  test("no PDB with one replica; user topology and affinity replace the defaults", () => {
    assert.deepEqual(find(rendered["config-only"], "PodDisruptionBudget"), []);
    const everything = podSpecOf(one(rendered["everything on"], "Deployment"));
    assert.equal(everything.topologySpreadConstraints, undefined);
    assert.equal(everything.affinity, undefined);
    assert.equal(everything.priorityClassName, undefined);
    assert.equal(one(rendered["everything on"], "PodDisruptionBudget").spec.minAvailable, 1);
  });

  test("image defaults to the chart appVersion; digest pins it", () => {
    const chart = YAML.parse(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8"));
    assert.equal(container.image, `ghcr.io/irsa-webhook/irsa-webhook:${chart.appVersion}`);
    const everything = podSpecOf(one(rendered["everything on"], "Deployment"));
    assert.equal(everything.containers[0].image,
      "registry.example.com/platform/irsa-webhook@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    assert.deepEqual(everything.imagePullSecrets, [{ name: "registry-credentials" }]);
  });

  test("serve flags are the SPEC's, pointing at the mounted files", () => {
    const serveFlags = new Set(["config", "tls-cert-file", "tls-key-file", "client-ca-file", "tls-min-version",
      "bind-address", "port", "metrics-port", "kubeconfig", "max-request-bytes", "log-level", "log-format",
      "shutdown-grace-seconds"]);
    for (const [name, objects] of Object.entries(rendered)) {
      const args = podSpecOf(one(objects, "Deployment")).containers[0].args;
      assert.equal(args[0], "serve", name);
      for (const a of args.slice(1)) {
        const m = /^--([a-z-]+)=(.+)$/.exec(a);
        assert.ok(m && serveFlags.has(m[1]), `${name}: unexpected serve argument ${a}`);
      }
    }
    assert.deepEqual(container.args, [
      "serve",
      "--config=/etc/irsa-webhook/config/config.yaml",
      "--tls-cert-file=/etc/irsa-webhook/tls/tls.crt",
      "--tls-key-file=/etc/irsa-webhook/tls/tls.key",
      "--tls-min-version=1.2",
      "--port=8443",
      "--metrics-port=9090",
      "--max-request-bytes=8388608",
      "--log-level=info",
      "--log-format=json",
      "--shutdown-grace-seconds=10",
    ]);
  });

  test("config and certificate are directory mounts (no subPath), so updates reach the pod", () => {
    const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.name, m]));
    assert.deepEqual(mounts.config, { name: "config", mountPath: "/etc/irsa-webhook/config", readOnly: true });
    assert.deepEqual(mounts.tls, { name: "tls", mountPath: "/etc/irsa-webhook/tls", readOnly: true });
    for (const [name, objects] of Object.entries(rendered)) {
      for (const o of objects.filter((x) => ["Deployment", "Job", "Pod"].includes(x.kind))) {
        for (const c of [...(podSpecOf(o).initContainers ?? []), ...podSpecOf(o).containers]) {
          for (const m of c.volumeMounts ?? []) assert.equal(m.subPath, undefined, `${name}: ${o.metadata.name} ${m.name}`);
        }
      }
    }
    const volumes = Object.fromEntries(spec.volumes.map((v) => [v.name, v]));
    assert.equal(volumes.config.configMap.name, `${fullname}-config`);
    assert.equal(volumes.tls.secret.secretName, `${fullname}-tls`);
  });

  test("no checksum annotations: config, certificate and client CA reload live", () => {
    for (const [name, objects] of Object.entries(rendered)) {
      const annotations = podTemplateMetadataOf(one(objects, "Deployment")).annotations ?? {};
      const checksums = Object.keys(annotations).filter((k) => k.startsWith("checksum/"));
      assert.deepEqual(checksums, [], name);
    }
    assert.deepEqual(podTemplateMetadataOf(one(rendered["everything on"], "Deployment")).annotations,
      { "example.com/team": "platform" });
    const everything = rendered["everything on"];
    const args = podSpecOf(one(everything, "Deployment")).containers[0].args;
    assert.ok(args.includes("--client-ca-file=/etc/irsa-webhook/client-ca/ca.crt"));
    assert.equal(one(everything, "ConfigMap", `${fullname}-client-ca`).data["ca.crt"].trim(), externalCA.caPem.trim());
  });

  test("liveness /healthz and readiness /readyz on the metrics port", () => {
    assert.deepEqual(container.livenessProbe.httpGet, { path: "/healthz", port: "metrics" });
    assert.deepEqual(container.readinessProbe.httpGet, { path: "/readyz", port: "metrics" });
    assert.equal(container.ports.find((p) => p.name === "metrics").containerPort, 9090);
    const hostNet = podSpecOf(one(rendered["host network"], "Deployment"));
    assert.equal(hostNet.dnsPolicy, "ClusterFirstWithHostNet");
    assert.deepEqual(hostNet.containers[0].ports.map((p) => p.containerPort), [19443, 19090]);
  });

  test("the API token is mounted only when the ServiceAccount cache needs it", () => {
    assert.equal(spec.automountServiceAccountToken, true);
    assert.equal(one(defaults, "ServiceAccount", fullname).automountServiceAccountToken, false);
    assert.equal(podSpecOf(one(rendered["config-only"], "Deployment")).automountServiceAccountToken, false);
    const testPod = one(defaults, "Pod", `${fullname}-test-readyz`);
    assert.equal(testPod.spec.automountServiceAccountToken, false);
  });

  test("terminationGracePeriodSeconds exceeds the server's shutdown grace", () => {
    assert.equal(spec.terminationGracePeriodSeconds, 30);
    assert.ok(container.args.includes("--shutdown-grace-seconds=10"));
  });
});

describe("injection config ConfigMap", () => {
  test("renders config verbatim; every scenario's config is accepted by irsa-webhook", { skip: !process.env.IRSA_WEBHOOK_BIN && "IRSA_WEBHOOK_BIN not set" }, () => {
    const pod = writeTemp("plain-pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: apps}\nspec:\n  containers: [{name: main, image: busybox}]\n");
    for (const [name, objects] of Object.entries(rendered)) {
      const config = one(objects, "ConfigMap", `${fullname}-config`).data["config.yaml"];
      const file = writeTemp(`config-${name.replace(/\W+/g, "-")}.yaml`, config);
      const r = run(process.env.IRSA_WEBHOOK_BIN, ["mutate", "--config", file, "-f", pod, "-o", "patch"]);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    }
  });

  test("the ConfigMap holds exactly .Values.config", () => {
    const everythingValues = YAML.parse(fs.readFileSync(values("everything.yaml"), "utf8"));
    const config = YAML.parse(one(rendered["everything on"], "ConfigMap", `${fullname}-config`).data["config.yaml"]);
    assert.deepEqual(config, everythingValues.config);
  });
});

describe("RBAC per mode", () => {
  const rules = (objects, name) => one(objects, "ClusterRole", name).rules;
  const webhookRules = [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list", "watch"] }];

  test("webhook: serviceaccounts get/list/watch only, bound to its ServiceAccount", () => {
    const defaults = rendered["default (self-signed)"];
    assert.deepEqual(rules(defaults, fullname), webhookRules);
    const binding = one(defaults, "ClusterRoleBinding", fullname);
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: fullname, namespace }]);
    assert.equal(podSpecOf(one(defaults, "Deployment")).serviceAccountName, fullname);
    assert.deepEqual(find(defaults, "ClusterRole").map((r) => r.metadata.name), [fullname]);
    assert.deepEqual(find(defaults, "Job"), []);
  });

  test("config-only: no RBAC at all", () => {
    assert.deepEqual(find(rendered["config-only"], "ClusterRole"), []);
    assert.deepEqual(find(rendered["config-only"], "ClusterRoleBinding"), []);
    assert.deepEqual(find(rendered["config-only"], "Role"), []);
  });

  test("reconcile without restarts: serviceaccounts list/patch, nothing else", () => {
    const objects = rendered["reconcile without restarts"];
    assert.deepEqual(rules(objects, fullname), webhookRules);
    assert.deepEqual(rules(objects, `${fullname}-reconcile`), [
      { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["list", "patch"] },
    ]);
    const job = one(objects, "Job", `${fullname}-reconcile`);
    assert.deepEqual(podSpecOf(job).containers[0].args,
      ["reconcile", "--config=/etc/irsa-webhook/config/config.yaml", "-o", "text"]);
    assert.equal(podSpecOf(job).initContainers, undefined);
  });

  const restartRules = [
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["list", "patch"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "create"] },
    { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get"] },
    { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "patch"] },
    { apiGroups: ["psmdb.percona.com"], resources: ["perconaservermongodbs"], verbs: ["get"] },
  ];

  test("reconcile with restarts: pods list, replicasets get, workloads get/patch, PerconaServerMongoDB get", () => {
    const objects = rendered["percona example"];
    assert.deepEqual(rules(objects, `${fullname}-reconcile`), restartRules);
    const job = one(objects, "Job", `${fullname}-reconcile`);
    assert.deepEqual(podSpecOf(job).containers[0].args,
      ["reconcile", "--config=/etc/irsa-webhook/config/config.yaml", "--restart-workloads", "-o", "text"]);
    assert.equal(podSpecOf(job).serviceAccountName, `${fullname}-reconcile`);
    assert.equal(podSpecOf(job).initContainers[0].name, "wait-for-webhook");
    assert.deepEqual(one(objects, "ClusterRoleBinding", `${fullname}-reconcile`).subjects,
      [{ kind: "ServiceAccount", name: `${fullname}-reconcile`, namespace }]);
  });

  test("a binding over every namespace needs no namespaces access (reconcile lists cluster-wide)", () => {
    assert.deepEqual(rules(rendered["everything on"], `${fullname}-reconcile`), restartRules);
    assert.deepEqual(rules(rendered["everything on"], fullname), webhookRules);
    assert.deepEqual(one(rendered["everything on"], "ClusterRoleBinding", fullname).subjects,
      [{ kind: "ServiceAccount", name: "custom-webhook-sa", namespace }]);
  });

  test("reconcile RBAC and ServiceAccount exist only for the hook", () => {
    for (const kind of ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"]) {
      const o = one(rendered["percona example"], kind, `${fullname}-reconcile`);
      assert.equal(o.metadata.annotations["helm.sh/hook"], "post-install,post-upgrade");
      assert.equal(o.metadata.annotations["helm.sh/hook-delete-policy"], "before-hook-creation,hook-succeeded");
      assert.ok(Number(o.metadata.annotations["helm.sh/hook-weight"]) < 0);
    }
    const job = one(rendered["percona example"], "Job", `${fullname}-reconcile`);
    assert.equal(job.metadata.annotations["helm.sh/hook"], "post-install,post-upgrade");
  });

  test("no scenario grants secrets, wildcards or write verbs beyond patch (and reconcile's dry-run pod create)", () => {
    // create on pods alone: reconcile's proof before restarts, sent only with dryRun=All.
    const dryRunPodCreate = (role, rule, v) =>
      v === "create" && role.metadata.name === `${fullname}-reconcile` && rule.resources.length === 1 && rule.resources[0] === "pods";
    for (const [name, objects] of Object.entries(rendered)) {
      for (const role of [...find(objects, "ClusterRole"), ...find(objects, "Role")]) {
        for (const rule of role.rules) {
          assert.ok(rule.verbs.every((v) => ["get", "list", "watch", "patch"].includes(v) || dryRunPodCreate(role, rule, v)),
            `${name}: ${JSON.stringify(rule)}`);
          assert.ok(!rule.resources.includes("*") && !rule.resources.includes("secrets"), `${name}: ${JSON.stringify(rule)}`);
          assert.ok(!rule.apiGroups.includes("*"), `${name}: ${JSON.stringify(rule)}`);
        }
      }
      assert.equal(find(objects, "ClusterRole", fullname)[0]?.rules.some((r) => r.verbs.includes("patch")) ?? false, false, name);
    }
  });
});

describe("certificates", () => {
  const pem = (name, content) => writeTemp(`certs/${name}`, content);
  const opensslVerify = (caFile, certFile) =>
    run("openssl", ["verify", "-purpose", "sslserver", "-CAfile", caFile, certFile]);

  test("self-signed: caBundle is the CA that signed the serving certificate", () => {
    const objects = rendered["default (self-signed)"];
    const caSecret = one(objects, "Secret", `${fullname}-ca`);
    const tlsSecret = one(objects, "Secret", `${fullname}-tls`);
    assert.equal(tlsSecret.type, "kubernetes.io/tls");
    assert.deepEqual(Object.keys(tlsSecret.data).sort(), ["ca.crt", "tls.crt", "tls.key"]);
    const caBundle = b64decode(one(objects, "MutatingWebhookConfiguration").webhooks[0].clientConfig.caBundle);
    for (const w of one(objects, "MutatingWebhookConfiguration").webhooks) {
      assert.equal(b64decode(w.clientConfig.caBundle), caBundle);
    }
    assert.equal(caBundle.trim(), b64decode(caSecret.data["tls.crt"]).trim());
    assert.equal(b64decode(tlsSecret.data["ca.crt"]), caBundle);
    const caFile = pem("self-signed-ca.crt", caBundle);
    const certFile = pem("self-signed-tls.crt", b64decode(tlsSecret.data["tls.crt"]));
    const keyFile = pem("self-signed-tls.key", b64decode(tlsSecret.data["tls.key"]));
    const v = opensslVerify(caFile, certFile);
    assert.equal(v.status, 0, v.stderr + v.stdout);
    assert.match(v.stdout, /: OK/);
    // The key belongs to the certificate.
    assert.equal(runOk("openssl", ["x509", "-noout", "-pubkey", "-in", certFile]),
      runOk("openssl", ["pkey", "-pubout", "-in", keyFile]));
    // It covers every name the kube-apiserver may dial.
    const san = runOk("openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", certFile]);
    for (const dns of [fullname, `${fullname}.${namespace}`, `${fullname}.${namespace}.svc`, `${fullname}.${namespace}.svc.cluster.local`]) {
      assert.match(san, new RegExp(`DNS:${dns.replaceAll(".", "\\.")}(,|\\s|$)`));
    }
  });

  test("self-signed: a different CA does not verify it (the check can fail)", () => {
    const objects = rendered["default (self-signed)"];
    const certFile = pem("self-signed-tls-2.crt", b64decode(one(objects, "Secret", `${fullname}-tls`).data["tls.crt"]));
    const v = opensslVerify(externalCA.caFile, certFile);
    assert.notEqual(v.status, 0);
  });

  test("self-signed: the CA key is never mounted by a pod", () => {
    for (const [name, objects] of Object.entries(rendered)) {
      for (const o of objects.filter((x) => ["Deployment", "Job", "Pod"].includes(x.kind))) {
        for (const v of podSpecOf(o).volumes ?? []) {
          assert.notEqual(v.secret?.secretName, `${fullname}-ca`, `${name}: ${o.metadata.name}`);
        }
      }
    }
  });

  test("existing-secret: caBundle from PEM or base64, the given Secret mounted, nothing generated", () => {
    for (const name of ["existing-secret (PEM caBundle)", "existing-secret (base64 caBundle)"]) {
      const objects = rendered[name];
      const bundle = b64decode(one(objects, "MutatingWebhookConfiguration").webhooks[0].clientConfig.caBundle);
      assert.equal(bundle.trim(), externalCA.caPem.trim(), name);
      assert.deepEqual(find(objects, "Secret"), [], name);
      assert.deepEqual(find(objects, "Certificate"), [], name);
      const volumes = podSpecOf(one(objects, "Deployment")).volumes;
      assert.equal(volumes.find((v) => v.name === "tls").secret.secretName, "my-webhook-tls", name);
    }
  });

  test("existing-secret: missing or invalid values fail with a clear message", () => {
    assert.match(renderFails(["--set", "certificates.mode=existing-secret", "--set-file", `certificates.existingSecret.caBundle=${externalCA.caFile}`]),
      /certificates\.existingSecret\.name is required/);
    assert.match(renderFails(["--set", "certificates.mode=existing-secret", "--set", "certificates.existingSecret.name=x"]),
      /certificates\.existingSecret\.caBundle is required/);
    assert.match(renderFails(["--set", "certificates.mode=existing-secret", "--set", "certificates.existingSecret.name=x",
      "--set", "certificates.existingSecret.caBundle=not-a-certificate"]), /must be a PEM certificate/);
  });

  test("cert-manager: self-signed CA chain, serving Certificate, CA injected by cainjector", () => {
    const objects = rendered["cert-manager"];
    const webhookConfig = one(objects, "MutatingWebhookConfiguration");
    assert.equal(webhookConfig.metadata.annotations["cert-manager.io/inject-ca-from"], `${namespace}/${fullname}-serving`);
    for (const w of webhookConfig.webhooks) assert.equal(w.clientConfig.caBundle, undefined);
    const serving = one(objects, "Certificate", `${fullname}-serving`);
    const tlsVolume = podSpecOf(one(objects, "Deployment")).volumes.find((v) => v.name === "tls");
    assert.equal(serving.spec.secretName, tlsVolume.secret.secretName);
    assert.ok(serving.spec.dnsNames.includes(`${fullname}.${namespace}.svc`));
    assert.deepEqual(serving.spec.issuerRef, { group: "cert-manager.io", kind: "Issuer", name: `${fullname}-ca` });
    const caCert = one(objects, "Certificate", `${fullname}-ca`);
    assert.equal(caCert.spec.isCA, true);
    assert.deepEqual(caCert.spec.issuerRef, { group: "cert-manager.io", kind: "Issuer", name: `${fullname}-selfsigned` });
    assert.deepEqual(one(objects, "Issuer", `${fullname}-selfsigned`).spec, { selfSigned: {} });
    assert.deepEqual(one(objects, "Issuer", `${fullname}-ca`).spec, { ca: { secretName: caCert.spec.secretName } });
    assert.deepEqual(find(objects, "Secret"), []);
  });

  test("cert-manager with your issuer: only the serving Certificate", () => {
    const objects = rendered["cert-manager with a ClusterIssuer"];
    assert.deepEqual(find(objects, "Issuer"), []);
    assert.deepEqual(find(objects, "Certificate").map((c) => c.metadata.name), [`${fullname}-serving`]);
    assert.deepEqual(one(objects, "Certificate").spec.issuerRef, { group: "cert-manager.io", kind: "ClusterIssuer", name: "my-ca" });
  });
});

describe("values schema refuses misconfiguration at install time", () => {
  const binding = (extra = []) => ["--set", "config.bindings[0].name=b", "--set", "config.bindings[0].roleArn=arn:aws:iam::111122223333:role/r",
    "--set", "config.bindings[0].namespaces[0]=ns", "--set", "config.bindings[0].serviceAccounts[0]=sa", ...extra];
  const cases = [
    ["bad roleArn", ["--set", "config.bindings[0].name=b", "--set", "config.bindings[0].roleArn=arn:aws:iam::1234:role/r",
      "--set", "config.bindings[0].namespaces[0]=ns", "--set", "config.bindings[0].serviceAccounts[0]=sa"], /roleArn: Does not match pattern/],
    ["unknown top-level key", ["--set", "replicas=3"], /Additional property replicas is not allowed/],
    ["unknown config key", ["--set", "config.regoin=us-east-1"], /Additional property regoin is not allowed/],
    ["unknown binding key", binding(["--set", "config.bindings[0].role=x"]), /Additional property role is not allowed/],
    ["failurePolicy enum", ["--set", "webhook.failurePolicy=Abort"], /failurePolicy must be one of the following: "Ignore", "Fail"/],
    ["certificates.mode enum", ["--set", "certificates.mode=acme"], /certificates\.mode must be one of the following/],
    ["missing roleArn", ["--set", "config.bindings[0].name=b", "--set", "config.bindings[0].namespaces[0]=ns",
      "--set", "config.bindings[0].serviceAccounts[0]=sa"], /roleArn is required/],
    ["empty namespaces", binding(["--set", "config.bindings[0].namespaces=null"]), /namespaces/],
    ["* with other namespaces", binding(["--set", "config.bindings[0].namespaces[1]=*"]), /namespaces: Array must have at most 1 items/],
    ["bad namespace name", binding(["--set", "config.bindings[0].namespaces[0]=Not_A_Namespace"]), /namespaces/],
    ["unknown preset", binding(["--set", "config.bindings[0].preset=mysql"]), /preset/],
    ["podSelector operator", binding(["--set", "config.bindings[0].podSelector.matchExpressions[0].key=a",
      "--set", "config.bindings[0].podSelector.matchExpressions[0].operator=Equals"]), /operator must be one of the following/],
    ["duplicate binding names", [...binding(), "--set", "config.bindings[1].name=b", "--set", "config.bindings[1].roleArn=arn:aws:iam::111122223333:role/r",
      "--set", "config.bindings[1].namespaces[0]=ns", "--set", "config.bindings[1].serviceAccounts[0]=sa"], /duplicate binding name "b"/],
    ["bad region", ["--set", "config.region=us_east_1"], /region: Does not match pattern/],
    ["token expiration below 600", ["--set", "config.tokenExpirationSeconds=60"], /greater than or equal to 600/],
    ["timeoutSeconds above 30", ["--set", "webhook.timeoutSeconds=31"], /less than or equal to 30/],
    ["privilege escalation", ["--set", "securityContext.allowPrivilegeEscalation=true"], /allowPrivilegeEscalation does not match: false/],
    ["root", ["--set", "podSecurityContext.runAsNonRoot=false"], /runAsNonRoot does not match: true/],
    ["metrics port 0", ["--set", "server.metricsPort=0"], /metricsPort: Must be greater than or equal to 1024/],
    ["tls version", ["--set", "server.tlsMinVersion=1.1"], /tlsMinVersion must be one of the following/],
    ["Fail with one replica", ["--set", "webhook.failurePolicy=Fail", "--set", "replicaCount=1"], /failurePolicy=Fail needs replicaCount >= 2/],
    ["grace period too short", ["--set", "terminationGracePeriodSeconds=5"], /must exceed server.shutdownGraceSeconds/],
    ["restartWorkloads without reconcile", ["--set", "reconcile.restartWorkloads=true"], /reconcile\.restartWorkloads needs reconcile\.enabled=true/],
    ["cert-manager issuerRef without name", ["--set", "certificates.mode=cert-manager", "--set", "certificates.certManager.issuerRef.kind=ClusterIssuer"],
      /issuerRef\.name is required/],
  ];
  for (const [name, args, expected] of cases) {
    test(name, () => {
      assert.match(renderFails(args), expected);
    });
  }
});

describe("optional features", () => {
  const everything = rendered["everything on"];

  test("ServiceMonitor scrapes the metrics port of the webhook Service", () => {
    const sm = one(everything, "ServiceMonitor", fullname);
    const service = one(everything, "Service", fullname);
    assert.deepEqual(sm.spec.selector.matchLabels, service.spec.selector);
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(service.metadata.labels[k], v);
    assert.deepEqual(sm.spec.endpoints, [{ port: "metrics", path: "/metrics", scheme: "http", interval: "15s", scrapeTimeout: "10s" }]);
    assert.equal(sm.metadata.labels.release, "kube-prometheus-stack");
    assert.ok(service.spec.ports.some((p) => p.name === "metrics" && p.targetPort === "metrics"));
  });

  test("NetworkPolicy: admission port from the given sources, metrics from Prometheus and this release", () => {
    const np = one(everything, "NetworkPolicy", fullname);
    assert.deepEqual(np.spec.policyTypes, ["Ingress"]);
    const [webhookRule, metricsRule] = np.spec.ingress;
    assert.deepEqual(webhookRule, { ports: [{ port: "https", protocol: "TCP" }], from: [{ ipBlock: { cidr: "10.0.0.0/16" } }] });
    assert.deepEqual(metricsRule.ports, [{ port: "metrics", protocol: "TCP" }]);
    const job = one(everything, "Job", `${fullname}-reconcile`);
    const jobLabels = podTemplateMetadataOf(job).labels;
    assert.ok(Object.entries(metricsRule.from[0].podSelector.matchLabels).every(([k, v]) => jobLabels[k] === v),
      "the reconcile Job's wait-for-webhook must be allowed to reach /readyz");
    assert.deepEqual(metricsRule.from[1], { namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } });
  });

  test("helm test pod calls /readyz through the Service", () => {
    const pod = one(rendered["default (self-signed)"], "Pod", `${fullname}-test-readyz`);
    assert.equal(pod.metadata.annotations["helm.sh/hook"], "test");
    assert.match(pod.spec.containers[0].command.join(" "), /\$BASE_URL\/readyz/);
    assert.deepEqual(pod.spec.containers[0].env, [{ name: "BASE_URL", value: `http://${fullname}.${namespace}.svc:9090` }]);
  });

  test("reconcile waits for a ready webhook before rolling workloads", () => {
    const job = one(rendered["percona example"], "Job", `${fullname}-reconcile`);
    const wait = podSpecOf(job).initContainers[0];
    assert.deepEqual(wait.env, [{ name: "READYZ_URL", value: `http://${fullname}.${namespace}.svc:9090/readyz` }]);
    assert.equal(podSpecOf(job).restartPolicy, "Never");
  });
});

describe("deploy/", () => {
  test("deploy/irsa-webhook.yaml equals a fresh render", () => {
    const r = run(path.join(root, "scripts/render-deploy.sh"), ["--check"], { env: { ...process.env, HELM: helm } });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  test("deploy/ objects pass the strict type check and hold no private key", () => {
    const objects = YAML.parseAllDocuments(fs.readFileSync(path.join(root, "deploy/irsa-webhook.yaml"), "utf8"))
      .map((d) => d.toJS()).filter(Boolean);
    assert.ok(objects.length > 5);
    assert.deepEqual(find(objects, "Secret"), []);
    assert.doesNotMatch(fs.readFileSync(path.join(root, "deploy/irsa-webhook.yaml"), "utf8"), /PRIVATE KEY|LS0tLS1CRUdJTi/);
    assert.equal(objects[0].kind, "Namespace");
    const r = typecheck(objects.map((object) => ({ label: `deploy: ${object.kind}`, object })), path.join(generatedDir, "deploy"));
    assert.ok(r.ok, r.output);
  });
});

describe("docs", () => {
  // Maps whose keys are the user's (or fixed by the schema), documented as one row.
  const freeForm = new Set(["resources", "reconcile.resources", "nodeSelector", "podSecurityContext", "securityContext"]);
  const leaves = (node, prefix = "") => Object.entries(node).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    const isMap = v !== null && typeof v === "object" && !Array.isArray(v);
    return isMap && Object.keys(v).length > 0 && !freeForm.has(key) ? leaves(v, key) : [key];
  });

  test("docs/helm.md documents every value of values.yaml", () => {
    const doc = fs.readFileSync(path.join(root, "docs/helm.md"), "utf8");
    const valuesYaml = YAML.parse(fs.readFileSync(path.join(chartDir, "values.yaml"), "utf8"));
    const missing = leaves(valuesYaml).filter((key) => !doc.includes(`| \`${key}\` |`));
    assert.deepEqual(missing, []);
  });

  test("every value of values.yaml is in values.schema.json", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(chartDir, "values.schema.json"), "utf8"));
    const valuesYaml = YAML.parse(fs.readFileSync(path.join(chartDir, "values.yaml"), "utf8"));
    const missing = leaves(valuesYaml).filter((key) => {
      let node = schema;
      for (const part of key.split(".")) {
        if (node.$ref) node = schema.definitions[node.$ref.split("/").pop()];
        node = node?.properties?.[part];
        if (!node) return true;
      }
      return false;
    });
    assert.deepEqual(missing, []);
  });
});

describe("acceptance: Percona example through irsa-webhook mutate", { skip: !process.env.IRSA_WEBHOOK_BIN && "IRSA_WEBHOOK_BIN not set" }, () => {
  const bin = process.env.IRSA_WEBHOOK_BIN;
  let configFile;
  before(() => {
    const cm = one(rendered["percona example"], "ConfigMap", `${fullname}-config`);
    configFile = writeTemp("percona-config.yaml", cm.data["config.yaml"]);
  });
  const mutate = (input) => {
    const r = run(bin, ["mutate", "--config", configFile, "-f", input, "-o", "json"]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const env = (c, name) => (c.env ?? []).find((e) => e.name === name)?.value;
  const assertInjected = (pod) => {
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    for (const c of containers) {
      assert.equal(env(c, "AWS_ROLE_ARN"), "arn:aws:iam::111122223333:role/psmdb-backup", c.name);
      assert.equal(env(c, "AWS_WEB_IDENTITY_TOKEN_FILE"), "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", c.name);
      assert.equal(env(c, "AWS_REGION"), "us-east-1", c.name);
      assert.equal(env(c, "AWS_STS_REGIONAL_ENDPOINTS"), "regional", c.name);
      assert.ok((c.volumeMounts ?? []).some((m) => m.name === "aws-iam-token" && m.readOnly === true), c.name);
    }
    const volume = pod.spec.volumes.find((v) => v.name === "aws-iam-token");
    assert.deepEqual(volume.projected.sources[0].serviceAccountToken, { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" });
  };

  test("the operator pod is injected", () => {
    assertInjected(mutate(path.join(testDir, "testdata/psmdb-operator-pod.yaml")));
  });

  test("an rs0 pod is injected (every container, PBM runs in mongod for physical restores)", () => {
    assertInjected(mutate(path.join(root, "examples/psmdb-rs0-pod.yaml")));
  });

  test("the arbiter pod is left alone", () => {
    const input = path.join(testDir, "testdata/psmdb-rs0-arbiter-pod.yaml");
    const r = run(bin, ["mutate", "--config", configFile, "-f", input, "-o", "patch"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.deepEqual(mutate(input), YAML.parse(fs.readFileSync(input, "utf8")));
  });
});
