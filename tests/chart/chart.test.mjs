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
import { startFakeCluster } from "./lib/certificates.mjs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

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
        // The reconcile hook's Roles live in the namespaces it works in.
        else if (["Role", "RoleBinding"].includes(o.kind) && o.metadata.name === `${fullname}-reconcile`) assert.ok(o.metadata.namespace, `${name}: ${o.kind}`);
        else assert.equal(o.metadata.namespace, namespace, `${name}: ${o.kind} ${o.metadata.name}`);
      }
    }
  });
});

describe("MutatingWebhookConfiguration", () => {
  const defaults = rendered["default (self-signed)"];
  const webhookConfig = one(defaults, "MutatingWebhookConfiguration", fullname);
  const [pods, serviceAccounts, psmdb] = webhookConfig.webhooks;
  const namespaceSelector = (nsList) => ({
    matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: nsList }],
  });
  const skipSelector = { matchExpressions: [{ key: "eks.amazonaws.com/skip-pod-identity-webhook", operator: "DoesNotExist" }] };

  test("three webhooks: pods, ServiceAccounts, and PerconaServerMongoDB warnings", () => {
    assert.deepEqual(webhookConfig.webhooks.map((w) => w.name), [
      `pod-identity.${fullname}.${namespace}.svc`,
      `serviceaccount-role.${fullname}.${namespace}.svc`,
      `psmdb-warnings.${fullname}.${namespace}.svc`,
    ]);
  });

  test("pods CREATE in one entry, serviceaccounts CREATE/UPDATE in another", () => {
    assert.deepEqual(pods.rules, [
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" },
    ]);
    assert.deepEqual(serviceAccounts.rules, [
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["serviceaccounts"], scope: "Namespaced" },
    ]);
  });

  test("the ServiceAccount entry is always Ignore, also when pods use Fail", () => {
    for (const [name, objects] of Object.entries(rendered)) {
      const sa = one(objects, "MutatingWebhookConfiguration").webhooks.find((w) => w.name.startsWith("serviceaccount-role."));
      assert.equal(sa.failurePolicy, "Ignore", name);
      assert.equal(sa.reinvocationPolicy, "Never", name);
    }
    const everything = one(rendered["everything on"], "MutatingWebhookConfiguration").webhooks;
    assert.deepEqual(everything.map((w) => w.failurePolicy), ["Fail", "Ignore", "Ignore"]);
    // The pods' opt-in label does not apply to ServiceAccounts (they would never be annotated).
    assert.deepEqual(everything[1].objectSelector, {
      matchExpressions: [{ key: "iam.example.com/skip-pod-identity-webhook", operator: "DoesNotExist" }],
    });
  });

  test("webhook.url: every webhook calls the URL instead of the Service; the self-signed certificate covers its host", { skip: !process.env.IRSA_WEBHOOK_BIN && "IRSA_WEBHOOK_BIN not set" }, async () => {
    for (const [url, san] of [["https://127.0.0.1:9443/mutate", "IP Address:127.0.0.1"], ["https://webhook.dev.example:9443/mutate", "DNS:webhook.dev.example"]]) {
      const objects = render(["--set", `webhook.url=${url}`]);
      for (const w of one(objects, "MutatingWebhookConfiguration").webhooks) assert.deepEqual(w.clientConfig, { url });
      const host = new URL(url).hostname;
      assert.ok(podSpecOf(one(objects, "Job", `${fullname}-certificates-hook`)).containers[0].args.includes(`--extra-name=${host}`));
      // What the certificate Job then makes (against a fake API server).
      const cluster = await startFakeCluster();
      try {
        const r = await cluster.runJob(objects);
        assert.equal(r.code, 0, r.stderr);
        const crt = b64decode(cluster.secret(`${fullname}-tls`).data["tls.crt"]);
        const sans = runOk("openssl", ["x509", "-noout", "-ext", "subjectAltName"], { input: crt });
        assert.ok(sans.includes(san), sans);
        assert.ok(sans.includes(`DNS:${fullname}.${namespace}.svc`), sans);
        cluster.createWebhookConfiguration(objects);
        assert.equal((await cluster.runJob(objects)).code, 0);
        for (const w of cluster.store.get(`mutatingwebhookconfigurations//${fullname}`).webhooks) {
          assert.equal(b64decode(w.clientConfig.caBundle), b64decode(cluster.secret(`${fullname}-tls`).data["ca.crt"]), w.name);
        }
      } finally {
        await cluster.close();
      }
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
    assert.deepEqual(serviceAccounts.namespaceSelector, pods.namespaceSelector);
  });

  test("kube-system stays excluded when excludeNamespaces leaves it out; includeKubeSystem opts in", () => {
    const notIn = (args) => one(render(args), "MutatingWebhookConfiguration").webhooks[0].namespaceSelector.matchExpressions[0].values;
    assert.deepEqual(notIn(["--set", "webhook.excludeNamespaces={kube-public}"]), ["kube-public", namespace, "kube-system"]);
    assert.deepEqual(notIn(["--set", "webhook.excludeNamespaces=null"]), [namespace, "kube-system"]);
    assert.deepEqual(notIn(["--set", "webhook.excludeNamespaces=null", "--set", "webhook.includeKubeSystem=true"]), [namespace]);
  });

  test("Fail renders when scoped by webhook.namespaces, an objectSelector or a namespaceSelector opt-in", () => {
    for (const scope of [
      ["--set", "webhook.namespaces={psmdb}"],
      ["--set-string", "webhook.objectSelector.matchLabels.irsa-webhook/inject=true"],
      ["--set", "webhook.namespaceSelector.matchLabels.irsa-webhook=enabled"],
    ]) {
      const w = one(render(["--set", "webhook.failurePolicy=Fail", ...scope]), "MutatingWebhookConfiguration").webhooks;
      assert.deepEqual(w.map((x) => x.failurePolicy), ["Fail", "Ignore", "Ignore"], scope.join(" "));
    }
    const opted = one(render(["--set-string", "webhook.objectSelector.matchLabels.irsa-webhook/inject=true",
      "--set", "webhook.namespaceSelector.matchLabels.irsa-webhook=enabled"]), "MutatingWebhookConfiguration").webhooks[0];
    assert.deepEqual(opted.objectSelector, { ...skipSelector, matchLabels: { "irsa-webhook/inject": "true" } });
    assert.deepEqual(opted.namespaceSelector, { ...namespaceSelector(["kube-system", namespace]), matchLabels: { "irsa-webhook": "enabled" } });
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
    assert.deepEqual(everything.map((w) => [w.failurePolicy, w.timeoutSeconds]), [["Fail", 10], ["Ignore", 10], ["Ignore", 10]]);
  });

  test("percona.warnings=false drops the PerconaServerMongoDB webhook", () => {
    const w = one(rendered["config-only"], "MutatingWebhookConfiguration").webhooks;
    assert.deepEqual(w.map((x) => x.name), [`pod-identity.${fullname}.${namespace}.svc`, `serviceaccount-role.${fullname}.${namespace}.svc`]);
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
    assert.equal(one(rendered["default (self-signed)"], "PodDisruptionBudget").spec.minAvailable, 1);
  });

  test("image defaults to the chart appVersion; digest pins it", () => {
    const chart = YAML.parse(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8"));
    assert.equal(container.image, `ghcr.io/irsa-webhook/irsa-webhook:${chart.appVersion}`);
    const everything = podSpecOf(one(rendered["everything on"], "Deployment"));
    assert.equal(everything.containers[0].image,
      "registry.example.com/platform/irsa-webhook@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    assert.deepEqual(everything.imagePullSecrets, [{ name: "registry-credentials" }]);
  });

  test("serve flags are the reference's, pointing at the mounted files", () => {
    const serveFlags = new Set(["config", "tls-cert-file", "tls-key-file", "client-ca-file", "tls-min-version",
      "bind-address", "port", "metrics-port", "kubeconfig", "max-request-bytes", "log-level", "log-format",
      "shutdown-delay-seconds", "shutdown-grace-seconds"]);
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
      "--shutdown-delay-seconds=5",
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
    // `helm test` runs `irsa-webhook check`, which talks to the API server as its own test identity.
    const testPod = one(defaults, "Pod", `${fullname}-test-check`);
    assert.equal(testPod.spec.automountServiceAccountToken, true);
    assert.equal(testPod.spec.serviceAccountName, `${fullname}-test`);
  });

  test("terminationGracePeriodSeconds exceeds the server's shutdown delay + grace", () => {
    assert.equal(spec.terminationGracePeriodSeconds, 30);
    assert.ok(container.args.includes("--shutdown-delay-seconds=5"));
    assert.ok(container.args.includes("--shutdown-grace-seconds=10"));
    for (const [name, objects] of Object.entries(rendered)) {
      const podSpec = podSpecOf(one(objects, "Deployment"));
      const flag = (f) => Number(podSpec.containers[0].args.find((a) => a.startsWith(`--${f}=`)).split("=")[1]);
      assert.ok(podSpec.terminationGracePeriodSeconds > flag("shutdown-delay-seconds") + flag("shutdown-grace-seconds"), name);
    }
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
    // Besides the webhook's: only the certificate Job's and CronJob's (see "certificates").
    assert.deepEqual(find(defaults, "ClusterRole").map((r) => r.metadata.name).sort(),
      [fullname, `${fullname}-certificates`, `${fullname}-certificates-hook`, `${fullname}-test`]);
    assert.deepEqual(find(defaults, "Job").map((j) => j.metadata.name), [`${fullname}-certificates-hook`]);
  });

  test("config-only: no RBAC for the webhook (only the certificate Job's and helm test's)", () => {
    const objects = rendered["config-only"];
    for (const kind of ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]) {
      assert.deepEqual(find(objects, kind).filter((o) => !o.metadata.name.startsWith(`${fullname}-certificates`) &&
        o.metadata.name !== `${fullname}-test`), [], kind);
    }
    const noCerts = render(["-f", values("config-only.yaml"), "--set", "certificates.mode=cert-manager"])
      .filter((o) => o.metadata.annotations?.["helm.sh/hook"] !== "test");
    for (const kind of ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]) assert.deepEqual(find(noCerts, kind), [], kind);
  });

  const roleRules = (objects, ns) => one(objects.filter((o) => o.metadata.namespace === ns), "Role", `${fullname}-reconcile`).rules;
  const reconcileBindingsOf = (objects) => [...find(objects, "RoleBinding"), ...find(objects, "ClusterRoleBinding")]
    .filter((b) => b.metadata.name === `${fullname}-reconcile`);

  test("reconcile without restarts: a Role per binding namespace, serviceaccounts list/patch, nothing else", () => {
    const objects = rendered["reconcile without restarts"];
    assert.deepEqual(rules(objects, fullname), webhookRules);
    const valuesFile = YAML.parse(fs.readFileSync(values("reconcile-annotate.yaml"), "utf8"));
    const expected = [...new Set(valuesFile.config.bindings.flatMap((b) => b.namespaces))].sort();
    assert.deepEqual(find(objects, "Role", `${fullname}-reconcile`).map((r) => r.metadata.namespace).sort(), expected);
    for (const ns of expected) {
      assert.deepEqual(roleRules(objects, ns), [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["list", "patch"] }]);
    }
    assert.equal(find(objects, "ClusterRole", `${fullname}-reconcile`).length, 0);
    assert.equal(find(objects, "ClusterRoleBinding", `${fullname}-reconcile`).length, 0);
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

  test("reconcile with restarts: a Role in psmdb only (pods list/create, replicasets get, workloads get/patch, PerconaServerMongoDB get)", () => {
    const objects = rendered["percona example"];
    assert.deepEqual(find(objects, "Role", `${fullname}-reconcile`).map((r) => r.metadata.namespace), ["psmdb"]);
    assert.deepEqual(roleRules(objects, "psmdb"), restartRules);
    assert.equal(find(objects, "ClusterRole", `${fullname}-reconcile`).length, 0);
    const job = one(objects, "Job", `${fullname}-reconcile`);
    assert.deepEqual(podSpecOf(job).containers[0].args,
      ["reconcile", "--config=/etc/irsa-webhook/config/config.yaml", "--restart-workloads", "-o", "text"]);
    assert.equal(podSpecOf(job).serviceAccountName, `${fullname}-reconcile`);
    assert.equal(podSpecOf(job).initContainers, undefined, "reconcile proves the webhook path itself; nothing waits with another image");
    const [binding] = reconcileBindingsOf(objects);
    assert.equal(binding.kind, "RoleBinding");
    assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${fullname}-reconcile` });
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: `${fullname}-reconcile`, namespace }]);
  });

  test("a binding over every namespace: a ClusterRole, no namespaces access (reconcile lists cluster-wide)", () => {
    assert.deepEqual(rules(rendered["everything on"], `${fullname}-reconcile`), restartRules);
    assert.equal(find(rendered["everything on"], "Role", `${fullname}-reconcile`).length, 0);
    assert.deepEqual(reconcileBindingsOf(rendered["everything on"]).map((b) => [b.kind, b.roleRef.kind]), [["ClusterRoleBinding", "ClusterRole"]]);
    assert.deepEqual(rules(rendered["everything on"], fullname), webhookRules);
    assert.deepEqual(one(rendered["everything on"], "ClusterRoleBinding", fullname).subjects,
      [{ kind: "ServiceAccount", name: "custom-webhook-sa", namespace }]);
  });

  test("reconcile.dryRun is read-only: no patch on anything", () => {
    for (const objects of [render(["-f", perconaValues, "--set", "reconcile.dryRun=true"]),
      render(["-f", values("everything.yaml"), "--set", "reconcile.dryRun=true"])]) {
      const roles = [...find(objects, "Role", `${fullname}-reconcile`), ...find(objects, "ClusterRole", `${fullname}-reconcile`)];
      assert.ok(roles.length > 0);
      for (const role of roles) {
        assert.deepEqual(role.rules.flatMap((r) => r.verbs).filter((v) => !["get", "list"].includes(v)), [], JSON.stringify(role.rules));
      }
      assert.ok(podSpecOf(one(objects, "Job", `${fullname}-reconcile`)).containers[0].args.includes("--dry-run"));
    }
  });

  test("reconcile RBAC and ServiceAccount exist only for the hook, also after it failed", () => {
    for (const [scenario, kinds] of [["percona example", ["ServiceAccount", "Role", "RoleBinding"]],
      ["everything on", ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"]]]) {
      for (const kind of kinds) {
        const o = one(rendered[scenario], kind, `${fullname}-reconcile`);
        assert.equal(o.metadata.annotations["helm.sh/hook"], "post-install,post-upgrade");
        assert.equal(o.metadata.annotations["helm.sh/hook-delete-policy"], "before-hook-creation,hook-succeeded,hook-failed");
        assert.ok(Number(o.metadata.annotations["helm.sh/hook-weight"]) < 0);
      }
    }
    const job = one(rendered["percona example"], "Job", `${fullname}-reconcile`);
    assert.equal(job.metadata.annotations["helm.sh/hook"], "post-install,post-upgrade");
    assert.equal(Number(job.metadata.annotations["helm.sh/hook-weight"]), 0);
  });

  test("no scenario grants secrets, wildcards or write verbs beyond patch (but the certificate Job, by name)", () => {
    for (const [name, objects] of Object.entries(rendered)) {
      for (const role of [...find(objects, "ClusterRole"), ...find(objects, "Role")]) {
        if (role.metadata.name.startsWith(`${fullname}-certificates`)) {
          for (const rule of role.rules) assert.ok(rule.resourceNames?.length > 0, `${name}: ${JSON.stringify(rule)}`);
          continue;
        }
        for (const rule of role.rules) {
          // create: only the reconcile proof's dry-run pod (dryRun=All).
          const allowed = (v) => ["get", "list", "watch", "patch"].includes(v) || (v === "create" && rule.resources.join() === "pods") ||
            // `helm test`'s check: its dry-run ServiceAccount (dryRun=All).
            (v === "create" && role.metadata.name === `${fullname}-test` && rule.resources.join() === "serviceaccounts");
          assert.ok(rule.verbs.every(allowed), `${name}: ${JSON.stringify(rule)}`);
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

  test("self-signed: every render is identical; no Secret and no caBundle in the manifests", () => {
    const again = render([]);
    assert.deepEqual(again, rendered["default (self-signed)"]);
    for (const scenario of ["default (self-signed)", "percona example", "everything on"]) {
      const objects = rendered[scenario];
      assert.deepEqual(find(objects, "Secret"), [], scenario);
      for (const w of one(objects, "MutatingWebhookConfiguration").webhooks) assert.equal(w.clientConfig.caBundle, undefined, scenario);
    }
  });

  test("self-signed: a hook Job and a CronJob of our own image run `irsa-webhook certificates`", () => {
    const objects = rendered["default (self-signed)"];
    const job = one(objects, "Job", `${fullname}-certificates-hook`);
    const cron = one(objects, "CronJob", `${fullname}-certificates`);
    const image = podSpecOf(one(objects, "Deployment")).containers[0].image;
    const expectedArgs = ["certificates", `--namespace=${namespace}`, `--service=${fullname}`, `--secret=${fullname}-tls`,
      `--ca-secret=${fullname}-ca`, `--webhook-configuration=${fullname}`, "--cluster-domain=cluster.local",
      "--ca-validity-days=3650", "--validity-days=365", "--renew-before-days=30"];
    for (const [what, spec] of [["job", podSpecOf(job)], ["cronjob", cron.spec.jobTemplate.spec.template.spec]]) {
      assert.equal(spec.containers[0].image, image, what);
      assert.deepEqual(spec.containers[0].args, expectedArgs, what);
      assert.equal(spec.automountServiceAccountToken, true, what);
    }
    assert.equal(job.metadata.annotations["helm.sh/hook"], "pre-install,pre-upgrade,post-install,post-upgrade");
    assert.equal(podSpecOf(job).serviceAccountName, `${fullname}-certificates-hook`);
    assert.equal(cron.spec.jobTemplate.spec.template.spec.serviceAccountName, `${fullname}-certificates`);
    assert.equal(cron.spec.schedule, "17 3 * * *");
    assert.equal(cron.spec.concurrencyPolicy, "Forbid");
    for (const mode of ["cert-manager", "existing-secret (PEM caBundle)"]) {
      assert.deepEqual([...find(rendered[mode], "CronJob"), ...find(rendered[mode], "Job")], [], mode);
    }
  });

  test("self-signed: RBAC names its two Secrets and this webhook configuration only", () => {
    const objects = rendered["default (self-signed)"];
    for (const name of [`${fullname}-certificates`, `${fullname}-certificates-hook`]) {
      assert.deepEqual(one(objects, "Role", name).rules, [{ apiGroups: [""], resources: ["secrets"],
        resourceNames: [`${fullname}-tls`, `${fullname}-ca`], verbs: ["get", "create", "patch"] }]);
      assert.deepEqual(one(objects, "ClusterRole", name).rules, [{ apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations"], resourceNames: [fullname], verbs: ["get", "patch"] }]);
    }
    for (const kind of ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]) {
      const hook = one(objects, kind, `${fullname}-certificates-hook`);
      assert.equal(hook.metadata.annotations["helm.sh/hook-delete-policy"], "before-hook-creation,hook-succeeded,hook-failed", kind);
      assert.ok(Number(hook.metadata.annotations["helm.sh/hook-weight"]) < Number(one(objects, "Job", `${fullname}-certificates-hook`).metadata.annotations["helm.sh/hook-weight"]));
      assert.equal(one(objects, kind, `${fullname}-certificates`).metadata.annotations, undefined, kind);
    }
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

describe("self-signed certificates in a cluster: the chart's Job args run by irsa-webhook certificates against a fake API server",
  { skip: !process.env.IRSA_WEBHOOK_BIN && "IRSA_WEBHOOK_BIN not set" }, () => {
  const objects = rendered["default (self-signed)"];
  let cluster;
  before(async () => { cluster = await startFakeCluster(); });
  after(() => cluster.close());

  const decode = (secret, key) => b64decode(secret.data[key]);
  const certCount = (bundle) => (bundle.match(/BEGIN CERTIFICATE/g) ?? []).length;
  const verifies = (caPem, certPem, host) => run("openssl", ["verify", "-purpose", "sslserver", "-verify_hostname", host,
    "-CAfile", writeTemp(`certs/ca-${Math.random()}.crt`, caPem), writeTemp(`certs/tls-${Math.random()}.crt`, certPem)]).status === 0;
  const patches = () => cluster.requests.filter((r) => r.method === "PATCH");

  test("pre-install run: both Secrets created; the configuration does not exist yet", async () => {
    const r = await cluster.runJob(objects);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new CA \(no CA yet\)/);
    assert.match(r.stdout, /MutatingWebhookConfiguration iw-irsa-webhook: not created yet/);
    const tls = cluster.secret(`${fullname}-tls`);
    assert.equal(tls.type, "kubernetes.io/tls");
    assert.deepEqual(Object.keys(tls.data).sort(), ["ca.crt", "tls.crt", "tls.key"]);
    assert.equal(decode(tls, "ca.crt"), decode(cluster.secret(`${fullname}-ca`), "tls.crt"));
    for (const host of [fullname, `${fullname}.${namespace}`, `${fullname}.${namespace}.svc`, `${fullname}.${namespace}.svc.cluster.local`]) {
      assert.ok(verifies(decode(tls, "ca.crt"), decode(tls, "tls.crt"), host), host);
    }
    assert.ok(!verifies(externalCA.caPem, decode(tls, "tls.crt"), `${fullname}.${namespace}.svc`), "the check can fail");
    const certFile = writeTemp("certs/hook-tls.crt", decode(tls, "tls.crt"));
    const keyFile = writeTemp("certs/hook-tls.key", decode(tls, "tls.key"));
    assert.equal(runOk("openssl", ["x509", "-noout", "-pubkey", "-in", certFile]), runOk("openssl", ["pkey", "-pubout", "-in", keyFile]));
  });

  test("post-install run: the caBundle of every webhook entry is the CA; nothing else changes", async () => {
    cluster.createWebhookConfiguration(objects);
    const r = await cluster.runJob(objects);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /caBundle set on 3 webhook\(s\)/);
    const live = cluster.store.get(`mutatingwebhookconfigurations//${fullname}`);
    const ca = decode(cluster.secret(`${fullname}-tls`), "ca.crt");
    for (const w of live.webhooks) assert.equal(b64decode(w.clientConfig.caBundle), ca, w.name);
    const withoutBundle = structuredClone(live);
    for (const w of withoutBundle.webhooks) delete w.clientConfig.caBundle;
    assert.deepEqual(withoutBundle, one(objects, "MutatingWebhookConfiguration"));
  });

  test("the CronJob on valid certificates: reads, writes nothing", async () => {
    const before = patches().length;
    const r = await cluster.runJob(objects);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /unchanged, valid until/);
    assert.match(r.stdout, /caBundle up to date/);
    assert.equal(patches().length, before);
  });

  test("serving certificate due: renewed from the same CA without an upgrade, caBundle unchanged", async () => {
    const oldTls = structuredClone(cluster.secret(`${fullname}-tls`));
    const live = cluster.store.get(`mutatingwebhookconfigurations//${fullname}`);
    const bundle = live.webhooks[0].clientConfig.caBundle;
    // Less than 365 days left of 365: due once renewBeforeDays is 365 (and new ones last 400).
    const r = await cluster.runJob(objects, ["--renew-before-days=365", "--validity-days=400"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new serving certificate \(the serving certificate expires/);
    const tls = cluster.secret(`${fullname}-tls`);
    assert.notEqual(tls.data["tls.crt"], oldTls.data["tls.crt"]);
    assert.equal(tls.data["ca.crt"], oldTls.data["ca.crt"]);
    assert.equal(live.webhooks[0].clientConfig.caBundle, bundle);
  });

  test("new DNS names: a new serving certificate from the same CA", async () => {
    const other = render(["--set", "certificates.clusterDomain=example.internal"]);
    const r = await cluster.runJob(other);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /names differ from the ones required/);
    const tls = cluster.secret(`${fullname}-tls`);
    assert.ok(verifies(decode(tls, "ca.crt"), decode(tls, "tls.crt"), `${fullname}.${namespace}.svc.example.internal`));
  });

  test("CA due: a new CA, the old one stays in the caBundle until it expires", async () => {
    // A CA that expires in 10 days, with a serving certificate from it, made by the openssl CLI.
    const dir = path.join(workDir, "short-ca");
    fs.mkdirSync(dir, { recursive: true });
    runOk("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "10",
      "-subj", "/CN=short-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
      "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt")]);
    const shortCa = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
    const caSecret = cluster.secret(`${fullname}-ca`);
    caSecret.data = { "tls.crt": Buffer.from(shortCa).toString("base64"),
      "tls.key": Buffer.from(fs.readFileSync(path.join(dir, "ca.key"))).toString("base64") };
    const r = await cluster.runJob(objects);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new CA \(the CA expires/);
    const bundle = decode(cluster.secret(`${fullname}-tls`), "ca.crt");
    assert.equal(certCount(bundle), 2);
    assert.ok(bundle.includes(shortCa.trim()));
    const live = cluster.store.get(`mutatingwebhookconfigurations//${fullname}`);
    for (const w of live.webhooks) assert.equal(b64decode(w.clientConfig.caBundle), bundle, w.name);
    const tls = cluster.secret(`${fullname}-tls`);
    assert.ok(verifies(bundle, decode(tls, "tls.crt"), `${fullname}.${namespace}.svc`));
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
    ["Fail with one replica", ["--set", "webhook.failurePolicy=Fail", "--set", "webhook.namespaces={psmdb}", "--set", "replicaCount=1"], /failurePolicy=Fail needs replicaCount >= 2/],
    ["Fail unscoped", ["--set", "webhook.failurePolicy=Fail"], /failurePolicy=Fail needs a scope: list the namespaces that need IAM roles in webhook.namespaces/],
    ["Fail with kube-system", ["--set", "webhook.failurePolicy=Fail", "--set", "webhook.namespaces={psmdb}", "--set", "webhook.excludeNamespaces=null",
      "--set", "webhook.includeKubeSystem=true"], /Fail with webhook.includeKubeSystem=true is refused/],
    ["includeKubeSystem and kube-system excluded", ["--set", "webhook.includeKubeSystem=true"], /includeKubeSystem=true contradicts kube-system in webhook.excludeNamespaces/],
    ["a namespace both selected and excluded", ["--set", "webhook.namespaces={psmdb,kube-system}"], /webhook.namespaces lists "kube-system", which is excluded/],
    ["the release namespace selected", ["--set", `webhook.namespaces={${namespace}}`], /it would select nothing/],
    ["unknown objectSelector key", ["--set", "webhook.objectSelector.matchLabel.a=b"], /Additional property matchLabel is not allowed/],
    ["grace period too short", ["--set", "terminationGracePeriodSeconds=5"], /must exceed server.shutdownDelaySeconds \+ server.shutdownGraceSeconds/],
    ["grace period not above delay + grace", ["--set", "terminationGracePeriodSeconds=15"], /must exceed server.shutdownDelaySeconds \+ server.shutdownGraceSeconds \(5 \+ 10\)/],
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
      "this release's own pods may reach the metrics port");
    assert.deepEqual(metricsRule.from[1], { namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } });
  });

  test("helm test runs irsa-webhook check from our image, as a test-only identity", () => {
    const objects = rendered["default (self-signed)"];
    const pod = one(objects, "Pod", `${fullname}-test-check`);
    assert.equal(pod.metadata.annotations["helm.sh/hook"], "test");
    assert.deepEqual(pod.spec.containers.map((c) => [c.image, c.args]), [[podSpecOf(one(objects, "Deployment")).containers[0].image,
      ["check", "--config=/etc/irsa-webhook/config/config.yaml", "-o", "text"]]]);
    assert.equal(pod.spec.volumes[0].configMap.name, `${fullname}-config`);
    for (const kind of ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"]) {
      assert.equal(one(objects, kind, `${fullname}-test`).metadata.annotations["helm.sh/hook"], "test", kind);
    }
    // docs/check.md's least privilege.
    const rules = one(objects, "ClusterRole", `${fullname}-test`).rules;
    assert.deepEqual(rules.find((r) => r.resources.includes("pods")).verbs, ["create", "list"]);
  });

  test("no image from Docker Hub anywhere in any rendered scenario (every image names its registry)", () => {
    const images = [];
    for (const [name, objects] of Object.entries(rendered)) {
      for (const o of objects) {
        const spec = o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : ["Deployment", "Job"].includes(o.kind) ? podSpecOf(o) : o.kind === "Pod" ? o.spec : null;
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) images.push([name, o.kind, c.image]);
      }
    }
    // The registry of an image reference, as the container runtime resolves it.
    const registryOf = (image) => {
      const first = image.split("/")[0];
      return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
    };
    assert.equal(registryOf("busybox:1.37.0"), "docker.io");
    assert.equal(registryOf("library/busybox"), "docker.io");
    assert.equal(registryOf("ghcr.io/irsa-webhook/irsa-webhook:0.1.0"), "ghcr.io");
    assert.ok(images.length > 10);
    for (const [name, kind, image] of images) {
      assert.ok(!["docker.io", "index.docker.io", "registry-1.docker.io"].includes(registryOf(image)), `${name}: ${kind} uses ${image}`);
    }
  });

  test("reconcile gates restarts on its own dry-run proof: one container, our image, retried while the webhook starts", () => {
    const job = one(rendered["percona example"], "Job", `${fullname}-reconcile`);
    assert.equal(podSpecOf(job).initContainers, undefined);
    assert.deepEqual(podSpecOf(job).containers.map((c) => c.image), [podSpecOf(one(rendered["percona example"], "Deployment")).containers[0].image]);
    assert.equal(podSpecOf(job).restartPolicy, "Never");
    assert.ok(job.spec.backoffLimit >= 4, "retries cover a webhook that is still starting");
  });
});

describe("escape hatches", () => {
  const everything = rendered["everything on"];

  test("extra env, volumes and mounts, PDB maxUnavailable, webhook annotations reach their objects", () => {
    const spec = podSpecOf(one(everything, "Deployment"));
    assert.deepEqual(spec.containers[0].env.map((e) => e.name), ["HTTPS_PROXY", "NODE_NAME"]);
    assert.deepEqual(spec.volumes.find((v) => v.name === "corp-ca"), { name: "corp-ca", configMap: { name: "corp-ca-bundle" } });
    assert.deepEqual(spec.containers[0].volumeMounts.find((m) => m.name === "corp-ca"), { name: "corp-ca", mountPath: "/etc/corp-ca", readOnly: true });
    const pdb = one(everything, "PodDisruptionBudget").spec;
    assert.equal(pdb.maxUnavailable, 1);
    assert.equal(pdb.minAvailable, undefined);
    assert.equal(one(everything, "MutatingWebhookConfiguration").metadata.annotations["argocd.argoproj.io/sync-wave"], "-1");
    assert.equal(podSpecOf(one(rendered["default (self-signed)"], "Deployment")).containers[0].env, undefined);
  });

  const cases = [
    ["a PDB that blocks every drain (minAvailable = replicas)", ["--set", "podDisruptionBudget.minAvailable=2"], /must be below replicaCount/],
    ["a PDB that blocks every drain (maxUnavailable 0)", ["--set", "podDisruptionBudget.minAvailable=null", "--set", "podDisruptionBudget.maxUnavailable=0"], /allows no eviction/],
    ["a PDB that blocks every drain (100%)", ["--set-string", "podDisruptionBudget.minAvailable=100%"], /allows no eviction/],
    ["both minAvailable and maxUnavailable", ["--set", "podDisruptionBudget.maxUnavailable=1"], /set either minAvailable or maxUnavailable/],
    ["an extra volume named like the chart's", ["--set", "extraVolumes[0].name=tls", "--set", "extraVolumes[0].emptyDir.medium=Memory"], /the chart's own volume/],
    ["a mount over /etc/irsa-webhook", ["--set", "extraVolumeMounts[0].name=x", "--set", "extraVolumeMounts[0].mountPath=/etc/irsa-webhook/tls"], /would hide the chart's config or certificate mounts/],
    ["an env entry with value and valueFrom", ["--set", "extraEnv[0].name=A", "--set", "extraEnv[0].value=b", "--set", "extraEnv[0].valueFrom.fieldRef.fieldPath=x"], /extraEnv/],
    ["an unknown extraVolumeMounts key", ["--set", "extraVolumeMounts[0].name=x", "--set", "extraVolumeMounts[0].mountPath=/x", "--set", "extraVolumeMounts[0].readonly=true"], /Additional property readonly is not allowed/],
  ];
  for (const [name, args, expected] of cases) {
    test(`refused: ${name}`, () => {
      assert.match(renderFails(args), expected);
    });
  }
});

describe("deploy/", () => {
  test("re-applying the bundle cannot reset the config: the ConfigMap lives in its own create-once file", () => {
    const bundle = YAML.parseAllDocuments(fs.readFileSync(path.join(root, "deploy/irsa-webhook.yaml"), "utf8")).map((d) => d.toJS()).filter(Boolean);
    assert.deepEqual(find(bundle, "ConfigMap"), []);
    // The Deployment still mounts it.
    assert.equal(podSpecOf(one(bundle, "Deployment")).volumes.find((v) => v.name === "config").configMap.name, "irsa-webhook-config");
    const configFile = fs.readFileSync(path.join(root, "deploy/irsa-webhook-config.yaml"), "utf8");
    const config = YAML.parseAllDocuments(configFile).map((d) => d.toJS()).filter(Boolean);
    assert.deepEqual(config.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`), ["ConfigMap irsa-webhook/irsa-webhook-config"]);
    assert.deepEqual(YAML.parse(config[0].data["config.yaml"]).bindings, []);
    assert.match(configFile, /kubectl create -f deploy\/irsa-webhook-config\.yaml/);
  });

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

  // The operator-shaped golden inputs (tests/testdata): config servers are component cfg.
  const golden = (name) => path.join(root, "tests/testdata", name, "input.yaml");
  test("a config-server (cfg) pod is injected, every container and init container", () => {
    const pod = mutate(golden("cfg-data-pod"));
    assert.equal(pod.metadata.labels["app.kubernetes.io/component"], "cfg");
    assert.deepEqual([...pod.spec.initContainers, ...pod.spec.containers].map((c) => c.name),
      ["mongo-init", "mongod", "backup-agent", "pmm-client", "logs", "logrotate"]);
    assertInjected(pod);
  });

  test("mongos and arbiter pods shaped like the operator's are left alone", () => {
    for (const name of ["mongos-pod-not-injected", "arbiter-pod-not-injected"]) {
      const r = run(bin, ["mutate", "--config", configFile, "-f", golden(name), "-o", "patch"]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [], name);
    }
  });

  // `kubectl get sts,deploy -n psmdb -o yaml | irsa-webhook mutate -f - --config ...`
  const namespaceList = path.join(root, "tests/testdata/previews/psmdb-namespace/input.yaml");
  const assertNamespacePreview = (items, stderr) => {
    const byName = Object.fromEntries(items.map((o) => [o.metadata.name, o]));
    for (const name of ["percona-server-mongodb-operator", "my-cluster-name-cfg", "my-cluster-name-rs0"]) {
      assertInjected(byName[name].spec.template);
    }
    const input = YAML.parse(fs.readFileSync(namespaceList, "utf8"));
    const arbiter = input.items.find((o) => o.metadata.name === "my-cluster-name-rs0-arbiter");
    assert.deepEqual(byName["my-cluster-name-rs0-arbiter"], arbiter);
    const notes = stderr.split("\n").filter((l) => l.startsWith("Note: "));
    assert.deepEqual(notes.map((l) => l.split(":")[1].trim()), [
      "Deployment psmdb/percona-server-mongodb-operator (pod template)",
      "StatefulSet psmdb/my-cluster-name-cfg (pod template)",
      "StatefulSet psmdb/my-cluster-name-rs0 (pod template)",
      "StatefulSet psmdb/my-cluster-name-rs0-arbiter (pod template)",
    ]);
    assert.match(notes[1], /: mutated \(injected\), role arn:aws:iam::111122223333:role\/psmdb-backup/);
    assert.match(notes[3], /: skipped \(binding "psmdb" covers the ServiceAccount but does not select this pod\)/);
  };

  test("a List of the operator Deployment and the rs0, cfg and arbiter StatefulSets, from stdin", () => {
    const r = run(bin, ["mutate", "--config", configFile, "-f", "-"], { input: fs.readFileSync(namespaceList) });
    assert.equal(r.status, 0, r.stderr);
    const out = YAML.parse(r.stdout);
    assert.equal(out.kind, "List");
    assertNamespacePreview(out.items, r.stderr);
    // Previewing the preview changes nothing.
    const again = run(bin, ["mutate", "--config", configFile, "-f", "-", "-o", "json"], { input: r.stdout });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), out);
  });

  test("the same objects as a multi-document stream: a stream with -o yaml, a List with -o json", () => {
    const items = YAML.parse(fs.readFileSync(namespaceList, "utf8")).items;
    const stream = writeTemp("psmdb-namespace-stream.yaml", items.map((o) => YAML.stringify(o)).join("---\n"));
    const yamlOut = run(bin, ["mutate", "--config", configFile, "-f", stream]);
    assert.equal(yamlOut.status, 0, yamlOut.stderr);
    const docs = YAML.parseAllDocuments(yamlOut.stdout).map((d) => d.toJS());
    assert.equal(docs.length, 4);
    assertNamespacePreview(docs, yamlOut.stderr);
    const jsonOut = run(bin, ["mutate", "--config", configFile, "-f", stream, "-o", "json"]);
    assert.equal(jsonOut.status, 0, jsonOut.stderr);
    assert.deepEqual(JSON.parse(jsonOut.stdout).items, docs);
    const patch = run(bin, ["mutate", "--config", configFile, "-f", stream, "-o", "patch"]);
    assert.equal(patch.status, 2);
    assert.match(patch.stderr, /-o patch takes one object/);
  });
});
