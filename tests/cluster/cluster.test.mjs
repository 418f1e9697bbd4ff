// The chart, the server and reconcile against a real kube-apiserver and kube-controller-manager
// (scripts/control-plane.sh, started by tests/cluster/run.sh; no kubelet, so pods stay Pending).
// In order, on one control plane:
//   - a workload created before the webhook exists (for reconcile, at the end);
//   - every chart mode applied with dryRun=All and strict field validation;
//   - `helm install` of charts/irsa-webhook (every object through server-side validation), with
//     webhook.url pointing the API server at `irsa-webhook serve` run here on the certificate,
//     config and Deployment args read back from the cluster, with the chart ServiceAccount's token;
//   - ServiceAccounts annotated on CREATE and UPDATE;
//   - a Percona-shaped namespace: our PerconaServerMongoDB CRD, the operator Deployment and the
//     rs0, cfg and arbiter StatefulSets built from the golden cases' pods; the controllers create
//     the pods, which must carry exactly the golden cases' injection (the arbiter none);
//   - `kubectl apply --dry-run=server -o yaml` previews an injected pod and persists nothing;
//     `kubectl apply` of a PerconaServerMongoDB prints our warnings;
//   - the ServiceAccount cache: a newly annotated ServiceAccount is used within a second;
//   - `reconcile --restart-workloads` as the chart's reconcile identity (RBAC sufficient, and
//     nothing more), after which the old Deployment's new pod is injected;
//   - the cache after a kube-apiserver restart;
//   - `helm upgrade`: the chart's `lookup` of its certificate Secrets keeps, renews and rotates
//     them as their annotations say.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { YAML, b64decode, chartDir, helm, parseAll, root, run, runOk, workDir } from "../chart/lib/helpers.mjs";
import {
  api, apiOk, freePort, resetConnections, injectedParts, isInjected, kubeconfig, kubectl, kubectlOk, runDir, serviceAccountKubeconfig,
  startServe, waitFor,
} from "./lib/cluster.mjs";

const bin = process.env.IRSA_WEBHOOK_BIN;
if (!bin) throw new Error("IRSA_WEBHOOK_BIN is not set: run through tests/cluster/run.sh");
const here = path.dirname(new URL(import.meta.url).pathname);
const golden = (name) => YAML.parse(fs.readFileSync(path.join(root, "tests/testdata", name), "utf8"));

const release = "iw";
const releaseNamespace = "irsa-system";
const fullname = "iw-irsa-webhook";
const prefix = "eks.amazonaws.com";
const roleAnnotation = `${prefix}/role-arn`;
const psmdbRole = "arn:aws:iam::111122223333:role/psmdb-backup";
const legacyRole = "arn:aws:iam::111122223333:role/legacy-app";
const lateRole = "arn:aws:iam::111122223333:role/late-annotated";

// The golden cases' shared config plus a binding for the namespace that exists before the webhook.
const config = golden("default-config.yaml");
config.bindings.push({
  name: "legacy", roleArn: legacyRole, namespaces: ["legacy"], serviceAccounts: ["app", "worker"],
});

const namespaceObject = (name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
const serviceAccountObject = (namespace, name, labels) => ({
  apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace, ...(labels ? { labels } : {}) },
});
const pods = async (namespace, selector) =>
  (await apiOk("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`)).items;

// A workload whose pod template is a golden case's input pod, as the operator would create it.
function workloadFromGolden(kind, name, caseName, { labels = {} } = {}) {
  const pod = golden(`${caseName}/input.yaml`);
  const podLabels = { ...pod.metadata.labels, ...labels };
  for (const k of ["apps.kubernetes.io/pod-index", "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "pod-template-hash"]) {
    delete podLabels[k];
  }
  const spec = structuredClone(pod.spec);
  // Set per pod by the controllers and the scheduler (and `priority` by admission, which refuses it).
  for (const k of ["hostname", "subdomain", "nodeName", "priority"]) delete spec[k];
  // Claims come from volumeClaimTemplates; the StatefulSet controller adds their volumes.
  const claims = kind === "StatefulSet" ? (spec.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name) : [];
  spec.volumes = (spec.volumes ?? []).filter((v) => !claims.includes(v.name));
  const selector = Object.fromEntries(Object.entries(podLabels).filter(([k]) => k !== "app.kubernetes.io/managed-by"));
  const object = {
    apiVersion: "apps/v1", kind, metadata: { name, namespace: "psmdb", labels: podLabels },
    spec: {
      replicas: 1, selector: { matchLabels: selector },
      template: { metadata: { labels: podLabels, annotations: pod.metadata.annotations ?? {} }, spec },
    },
  };
  if (kind === "StatefulSet") {
    object.spec.serviceName = name;
    object.spec.volumeClaimTemplates = claims.map((claim) => ({
      metadata: { name: claim },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    }));
  }
  return object;
}

// What the API server stores for the golden expectation: projected volumes get defaultMode 420.
function expectedParts(caseName) {
  const expected = golden(`${caseName}/expected.yaml`);
  const parts = injectedParts(expected.object);
  if (parts.volume) parts.volume.projected.defaultMode = 420;
  return parts;
}

let serve;
let webhookPort;
let metricsPort;
let serveArgs;
let installOutput;
let valuesFile;
let certificatesOutput;

before(async () => {
  // Before the webhook exists: a Deployment whose pod is created uninjected, and a ServiceAccount
  // a binding names but nobody annotated.
  await apiOk("POST", "/api/v1/namespaces", namespaceObject("legacy"));
  for (const sa of ["app", "worker"]) await apiOk("POST", "/api/v1/namespaces/legacy/serviceaccounts", serviceAccountObject("legacy", sa));
  await apiOk("POST", "/apis/apps/v1/namespaces/legacy/deployments", {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "app", namespace: "legacy" },
    spec: {
      replicas: 1, selector: { matchLabels: { app: "legacy" } },
      template: {
        metadata: { labels: { app: "legacy" } },
        spec: { serviceAccountName: "app", containers: [{ name: "app", image: "registry.example/app:1" }] },
      },
    },
  });
  await waitFor("the legacy Deployment's first pod", async () => (await pods("legacy", "app=legacy")).length === 1);

  // The chart, with the API server calling a local server by URL.
  webhookPort = await freePort();
  metricsPort = await freePort();
  valuesFile = path.join(workDir, "cluster-values.yaml");
  fs.writeFileSync(valuesFile, YAML.stringify({
    config,
    webhook: { url: `https://127.0.0.1:${webhookPort}/mutate` },
  }));
  // --no-hooks: hook Jobs cannot run here (no kubelet). What the self-signed mode's certificate
  // Job does is run below with the chart's own args, as the chart's CronJob identity.
  installOutput = runOk(helm, ["install", release, chartDir, "--kubeconfig", kubeconfig, "--namespace", releaseNamespace,
    "--create-namespace", "--no-hooks", "-f", valuesFile]);
  const certificatesJob = parseAll(runOk(helm, ["template", release, chartDir, "--namespace", releaseNamespace, "-f", valuesFile,
    "--show-only", "templates/certificates-self-signed.yaml"])).find((o) => o.kind === "Job");
  const { file: certificatesKubeconfig } = await serviceAccountKubeconfig(releaseNamespace, `${fullname}-certificates`);
  certificatesOutput = runOk(bin, [...certificatesJob.spec.template.spec.containers[0].args, `--kubeconfig=${certificatesKubeconfig}`]);

  // The server on what the chart put into the cluster: its Deployment's args, ConfigMap and
  // serving certificate Secret, and a token of the chart's ServiceAccount.
  const deployment = await apiOk("GET", `/apis/apps/v1/namespaces/${releaseNamespace}/deployments/${fullname}`);
  const configMap = await apiOk("GET", `/api/v1/namespaces/${releaseNamespace}/configmaps/${fullname}-config`);
  const secret = await apiOk("GET", `/api/v1/namespaces/${releaseNamespace}/secrets/${fullname}-tls`);
  const dir = path.join(workDir, "serve");
  for (const sub of ["config", "tls"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const [k, v] of Object.entries(configMap.data)) fs.writeFileSync(path.join(dir, "config", k), v);
  for (const [k, v] of Object.entries(secret.data)) fs.writeFileSync(path.join(dir, "tls", k), b64decode(v));
  const { file: serveKubeconfig } = await serviceAccountKubeconfig(releaseNamespace, fullname);
  const container = deployment.spec.template.spec.containers[0];
  serveArgs = container.args.map((a) => a
    .replace("/etc/irsa-webhook/config", path.join(dir, "config"))
    .replace("/etc/irsa-webhook/tls", path.join(dir, "tls"))
    .replace(/^--port=\d+$/, `--port=${webhookPort}`)
    .replace(/^--metrics-port=\d+$/, `--metrics-port=${metricsPort}`));
  serveArgs.push("--bind-address=127.0.0.1", `--kubeconfig=${serveKubeconfig}`);
  serve = await startServe(bin, serveArgs, metricsPort);
});

after(() => {
  if (serve?.child.exitCode === null) serve.child.kill("SIGKILL");
});

describe("helm install into the real API server", () => {
  test("every object of the release exists on the server", async () => {
    assert.match(installOutput, /STATUS: deployed/);
    const manifest = parseAll(runOk(helm, ["get", "manifest", release, "--kubeconfig", kubeconfig, "--namespace", releaseNamespace]));
    assert.ok(manifest.length >= 8, `only ${manifest.length} objects in the release`);
    for (const o of manifest) {
      const ns = o.metadata.namespace ? ["-n", o.metadata.namespace] : [];
      const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
      const r = kubectl(["get", group ? `${o.kind}.${group}` : o.kind, o.metadata.name, ...ns, "-o", "name"]);
      assert.equal(r.status, 0, `${o.kind} ${o.metadata.name}: ${r.stderr}`);
    }
  });

  test("irsa-webhook certificates, as the chart's CronJob identity, made the Secrets and set the caBundle", async () => {
    assert.match(certificatesOutput, /new CA \(no CA yet\)/);
    assert.match(certificatesOutput, /caBundle set on 3 webhook\(s\)/);
    const secret = await apiOk("GET", `/api/v1/namespaces/${releaseNamespace}/secrets/${fullname}-tls`);
    assert.equal(secret.type, "kubernetes.io/tls");
    // A second run (the daily CronJob) changes nothing.
    const again = run(bin, [...parseAll(runOk(helm, ["template", release, chartDir, "--namespace", releaseNamespace,
      "--set", `webhook.url=https://127.0.0.1:${webhookPort}/mutate`, "--show-only", "templates/certificates-self-signed.yaml"]))
      .find((o) => o.kind === "Job").spec.template.spec.containers[0].args, `--kubeconfig=${kubeconfig}`]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /unchanged, valid until/);
    assert.match(again.stdout, /caBundle up to date/);
    const after = await apiOk("GET", `/api/v1/namespaces/${releaseNamespace}/secrets/${fullname}-tls`);
    assert.equal(after.metadata.resourceVersion, secret.metadata.resourceVersion);
  });

  test("the webhook configuration calls the URL with the chart's CA, whose certificate covers 127.0.0.1", async () => {
    const config = await apiOk("GET", `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${fullname}`);
    assert.equal(config.webhooks.length, 3);
    const ca = b64decode((await apiOk("GET", `/api/v1/namespaces/${releaseNamespace}/secrets/${fullname}-tls`)).data["ca.crt"]);
    for (const w of config.webhooks) {
      assert.equal(w.clientConfig.url, `https://127.0.0.1:${webhookPort}/mutate`);
      assert.equal(w.clientConfig.service, undefined);
      assert.equal(b64decode(w.clientConfig.caBundle), ca, w.name);
    }
    const cert = runOk("openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", path.join(workDir, "serve/tls/tls.crt")]);
    assert.match(cert, /IP Address:127\.0\.0\.1/);
  });
});

describe("every chart mode through the server's strict field validation", () => {
  // Rendered under another release name, applied with dryRun=All and fieldValidation=Strict:
  // unknown or duplicate fields and invalid values fail here even where helm's client-side
  // checks let them through. Kinds whose CRDs are not installed here (cert-manager, Prometheus
  // Operator) are left out.
  const chartValues = (name) => path.join(root, "tests/chart/values", name);
  const modes = {
    "default": [],
    "percona example": ["-f", path.join(root, "examples/helm/percona-values.yaml")],
    "everything on": ["-f", chartValues("everything.yaml")],
    "config-only": ["-f", chartValues("config-only.yaml")],
    "reconcile without restarts": ["-f", chartValues("reconcile-annotate.yaml")],
    "host network": ["-f", chartValues("host-network.yaml")],
  };
  before(async () => {
    await apiOk("POST", "/api/v1/namespaces", namespaceObject("render-check"));
  });
  for (const [name, args] of Object.entries(modes)) {
    test(name, () => {
      const objects = parseAll(runOk(helm, ["template", "check", chartDir, "--namespace", "render-check", ...args]))
        .filter((o) => !/cert-manager\.io|monitoring\.coreos\.com/.test(o.apiVersion));
      // The reconcile hook's Roles live in the binding namespaces, which need not exist yet here:
      // validated in render-check instead (fields, not placement, are the point).
      for (const o of objects) if (["Role", "RoleBinding"].includes(o.kind)) o.metadata.namespace = "render-check";
      // A pod's ServiceAccount must exist (the dry-run persists none): create those for real.
      const accounts = path.join(workDir, `render-check-${name.replace(/\W+/g, "-")}-sa.yaml`);
      fs.writeFileSync(accounts, objects.filter((o) => o.kind === "ServiceAccount").map((o) => YAML.stringify(o)).join("---\n"));
      kubectlOk(["apply", "-f", accounts]);
      const file = path.join(workDir, `render-check-${name.replace(/\W+/g, "-")}.yaml`);
      fs.writeFileSync(file, objects.map((o) => YAML.stringify(o)).join("---\n"));
      const r = kubectl(["apply", "--dry-run=server", "--validate=strict", "-f", file]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, "", "the server warned (unknown or duplicate fields?)");
      assert.equal(r.stdout.trim().split("\n").length, objects.length, r.stdout);
    });
  }
});

describe("ServiceAccounts annotated by admission", () => {
  test("CREATE: the controller's `default` in a new namespace and one created by a user", async () => {
    await apiOk("POST", "/api/v1/namespaces", namespaceObject("psmdb"));
    const created = await apiOk("POST", "/api/v1/namespaces/psmdb/serviceaccounts", serviceAccountObject("psmdb", "percona-server-mongodb-operator"));
    assert.equal(created.metadata.annotations?.[roleAnnotation], psmdbRole);
    const byController = await waitFor("the ServiceAccount controller's psmdb/default", async () => {
      const r = await api("GET", "/api/v1/namespaces/psmdb/serviceaccounts/default");
      return r.status === 200 && r.body;
    });
    assert.equal(byController.metadata.annotations?.[roleAnnotation], psmdbRole);
  });

  test("UPDATE: a ServiceAccount created before the webhook is annotated on its next update", async () => {
    const before = await apiOk("GET", "/api/v1/namespaces/legacy/serviceaccounts/worker");
    assert.equal(before.metadata.annotations?.[roleAnnotation], undefined);
    const updated = await apiOk("PATCH", "/api/v1/namespaces/legacy/serviceaccounts/worker",
      { metadata: { labels: { touched: "yes" } } }, { contentType: "application/merge-patch+json" });
    assert.equal(updated.metadata.annotations?.[roleAnnotation], legacyRole);
  });
});

describe("a Percona-shaped namespace: the controllers create the pods", () => {
  before(async () => {
    kubectlOk(["apply", "-f", path.join(here, "testdata/psmdb-crd.yaml")]);
    kubectlOk(["wait", "--for=condition=Established", "crd/perconaservermongodbs.psmdb.percona.com", "--timeout=30s"]);
    const workloads = [
      workloadFromGolden("Deployment", "percona-server-mongodb-operator", "operator-pod-plain-manifest"),
      workloadFromGolden("StatefulSet", "my-cluster-name-rs0", "rs0-data-pod"),
      // The operator labels config-server pods component=cfg (pkg/naming/labels.go).
      workloadFromGolden("StatefulSet", "my-cluster-name-cfg", "cfg-data-pod", { labels: { "app.kubernetes.io/component": "cfg" } }),
      workloadFromGolden("StatefulSet", "my-cluster-name-rs0-arbiter", "arbiter-pod-not-injected"),
    ];
    for (const w of workloads) await apiOk("POST", `/apis/apps/v1/namespaces/psmdb/${w.kind.toLowerCase()}s`, w);
  });

  const cases = [
    ["operator (Deployment)", "app.kubernetes.io/name=percona-server-mongodb-operator", "operator-pod-plain-manifest"],
    ["rs0 member (StatefulSet)", "app.kubernetes.io/replset=rs0,app.kubernetes.io/component=mongod", "rs0-data-pod"],
    ["cfg member (StatefulSet, component=cfg)", "app.kubernetes.io/replset=cfg", "cfg-data-pod"],
  ];
  for (const [name, selector, caseName] of cases) {
    test(`${name}: injected as golden case ${caseName} predicts`, async () => {
      const [pod] = await waitFor(`a pod ${selector}`, async () => {
        const found = await pods("psmdb", selector);
        return found.length === 1 && found;
      });
      assert.deepEqual(injectedParts(pod), expectedParts(caseName));
    });
  }

  test("arbiter (StatefulSet): not injected, as golden case arbiter-pod-not-injected predicts, though its ServiceAccount is annotated", async () => {
    const [pod] = await waitFor("the arbiter pod", async () => {
      const found = await pods("psmdb", "app.kubernetes.io/component=arbiter");
      return found.length === 1 && found;
    });
    assert.equal(pod.spec.serviceAccountName, "default");
    const sa = await apiOk("GET", "/api/v1/namespaces/psmdb/serviceaccounts/default");
    assert.equal(sa.metadata.annotations?.[roleAnnotation], psmdbRole);
    assert.equal(golden("arbiter-pod-not-injected/expected.yaml").outcome, "skipped");
    assert.equal(isInjected(pod), false, JSON.stringify(injectedParts(pod)));
  });
});

describe("kubectl against the webhook", () => {
  test("apply --dry-run=server -o yaml shows the injected pod and persists nothing", async () => {
    const pod = golden("rs0-data-pod/input.yaml");
    pod.metadata = { name: "preview-rs0-0", namespace: "psmdb", labels: pod.metadata.labels };
    const file = path.join(workDir, "preview-pod.yaml");
    fs.writeFileSync(file, YAML.stringify(pod));
    const preview = YAML.parse(kubectlOk(["apply", "--dry-run=server", "-o", "yaml", "-f", file]));
    assert.deepEqual(injectedParts(preview), expectedParts("rs0-data-pod"));
    const r = await api("GET", "/api/v1/namespaces/psmdb/pods/preview-rs0-0");
    assert.equal(r.status, 404);
  });

  test("apply of a PerconaServerMongoDB with credentialsSecret prints our warnings", () => {
    const cluster = golden("percona-cluster-warnings/input.yaml");
    const file = path.join(workDir, "psmdb-cluster.yaml");
    fs.writeFileSync(file, YAML.stringify(cluster));
    const r = kubectl(["apply", "-f", file]);
    assert.equal(r.status, 0, r.stderr);
    const expected = golden("percona-cluster-warnings/expected.yaml").warnings;
    assert.ok(expected.length > 0);
    for (const w of expected) assert.ok(r.stderr.includes(`Warning: ${w}`), `missing warning ${w}\nstderr: ${r.stderr}`);
    // Persisted unchanged: warnings only, never a patch.
    const stored = JSON.parse(kubectlOk(["get", "perconaservermongodb", "my-cluster-name", "-n", "psmdb", "-o", "json"]));
    assert.deepEqual(stored.spec, cluster.spec);
  });
});

// A pod of ServiceAccount apps/<sa> created with dryRun=All; returns its AWS_ROLE_ARN or undefined.
async function dryRunRole(sa) {
  const pod = {
    apiVersion: "v1", kind: "Pod", metadata: { generateName: "probe-", namespace: "apps" },
    spec: { serviceAccountName: sa, containers: [{ name: "c", image: "registry.example/app:1" }] },
  };
  const created = await apiOk("POST", "/api/v1/namespaces/apps/pods?dryRun=All", pod);
  return created.spec.containers[0].env?.find((e) => e.name === "AWS_ROLE_ARN")?.value;
}

describe("serve --kubeconfig: the ServiceAccount cache", () => {
  before(async () => {
    await apiOk("POST", "/api/v1/namespaces", namespaceObject("apps"));
  });

  test("synced: the server is ready and pods of an annotated ServiceAccount are injected", async () => {
    await apiOk("POST", "/api/v1/namespaces/apps/serviceaccounts",
      { ...serviceAccountObject("apps", "early"), metadata: { name: "early", namespace: "apps", annotations: { [roleAnnotation]: lateRole } } });
    assert.equal(await waitFor("the early ServiceAccount in the cache", () => dryRunRole("early"), 10000), lateRole);
  });

  test("a newly annotated ServiceAccount is used by an admission within a second", async (t) => {
    await apiOk("POST", "/api/v1/namespaces/apps/serviceaccounts", serviceAccountObject("apps", "late"));
    assert.equal(await dryRunRole("late"), undefined);
    const annotatedAt = Date.now();
    await apiOk("PATCH", "/api/v1/namespaces/apps/serviceaccounts/late",
      { metadata: { annotations: { [roleAnnotation]: lateRole } } }, { contentType: "application/merge-patch+json" });
    const role = await waitFor("an admission to use the new annotation", () => dryRunRole("late"), 5000);
    const elapsed = Date.now() - annotatedAt;
    t.diagnostic(`the annotation reached admissions after ${elapsed} ms`);
    assert.equal(role, lateRole);
    assert.ok(elapsed < 1000, `the annotation took ${elapsed} ms to reach admissions`);
  });
});

describe("reconcile as the chart's reconcile identity", () => {
  let identity;
  before(async () => {
    // The chart creates the reconcile ServiceAccount and RBAC as hooks of its Job, which cannot
    // run here (no kubelet): apply exactly those objects as the chart renders them.
    // A Role and RoleBinding in each binding namespace (psmdb, legacy): no cluster-wide rights.
    const rendered = parseAll(runOk(helm, ["template", release, chartDir, "--namespace", releaseNamespace, "-f", path.join(workDir, "cluster-values.yaml"),
      "--set", "reconcile.enabled=true", "--set", "reconcile.restartWorkloads=true", "--show-only", "templates/reconcile-job.yaml"]));
    const rbac = rendered.filter((o) => o.kind !== "Job");
    assert.deepEqual(rbac.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}`).sort(),
      ["Role legacy", "Role psmdb", "RoleBinding legacy", "RoleBinding psmdb", `ServiceAccount ${releaseNamespace}`]);
    const file = path.join(workDir, "reconcile-rbac.yaml");
    fs.writeFileSync(file, rbac.map((o) => YAML.stringify(o)).join("---\n"));
    kubectlOk(["apply", "-f", file]);
    identity = await serviceAccountKubeconfig(releaseNamespace, `${fullname}-reconcile`);
  });

  test("annotates the ServiceAccount and restarts the Deployment; its new pod is injected", async () => {
    const [oldPod] = await pods("legacy", "app=legacy");
    assert.equal(isInjected(oldPod), false, "the pod created before the webhook is not injected");
    const configFile = path.join(workDir, "serve/config/config.yaml");
    const r = run(bin, ["reconcile", "--config", configFile, "--kubeconfig", identity.file, "--restart-workloads", "-o", "json"]);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const report = JSON.parse(r.stdout);
    const action = (kind, name) => report.actions.find((a) => a.kind === kind && a.name === name && a.namespace === "legacy");
    assert.equal(action("ServiceAccount", "app")?.result, "annotated", r.stdout);
    assert.equal(action("Deployment", "app")?.result, "restarted", r.stdout);
    const sa = await apiOk("GET", "/api/v1/namespaces/legacy/serviceaccounts/app");
    assert.equal(sa.metadata.annotations?.[roleAnnotation], legacyRole);
    const newPod = await waitFor("the Deployment's new pod", async () =>
      (await pods("legacy", "app=legacy")).find((p) => p.metadata.name !== oldPod.metadata.name));
    assert.equal(isInjected(newPod), true, JSON.stringify(injectedParts(newPod)));
    assert.equal(newPod.spec.containers[0].env.find((e) => e.name === "AWS_ROLE_ARN").value, legacyRole);
  });

  test("the same identity is forbidden what reconcile does not need", async () => {
    const secrets = await api("GET", `/api/v1/namespaces/${releaseNamespace}/secrets`, undefined, { token: identity.token });
    assert.equal(secrets.status, 403);
    const [pod] = await pods("legacy", "app=legacy");
    const del = await api("DELETE", `/api/v1/namespaces/legacy/pods/${pod.metadata.name}`, undefined, { token: identity.token });
    assert.equal(del.status, 403);
    const sa = await api("GET", "/api/v1/namespaces/legacy/serviceaccounts/app", undefined, { token: identity.token });
    assert.equal(sa.status, 403, "reconcile lists ServiceAccounts; it never GETs one");
    // Only the binding namespaces: nothing in kube-system or cluster-wide.
    const kubeSystem = await api("GET", "/api/v1/namespaces/kube-system/serviceaccounts", undefined, { token: identity.token });
    assert.equal(kubeSystem.status, 403);
    const everywhere = await api("GET", "/api/v1/serviceaccounts", undefined, { token: identity.token });
    assert.equal(everywhere.status, 403);
  });
});

describe("the ServiceAccount cache across a kube-apiserver restart", () => {
  test("the server stays up and sees annotations made after the restart", async () => {
    runOk(path.join(root, "scripts/control-plane.sh"), ["restart-apiserver", runDir]);
    resetConnections();
    await apiOk("POST", "/api/v1/namespaces/apps/serviceaccounts",
      { metadata: { name: "after-restart", namespace: "apps", annotations: { [roleAnnotation]: lateRole } } });
    assert.equal(await waitFor("the cache to see a ServiceAccount created after the restart", () => dryRunRole("after-restart"), 30000), lateRole);
    assert.equal(serve.child.exitCode, null, serve.stderr);
  });
});

describe("self-signed certificates across helm upgrade (irsa-webhook certificates against the real server)", () => {
  const secretPath = (name) => `/api/v1/namespaces/${releaseNamespace}/secrets/${fullname}-${name}`;
  const state = async () => ({
    ca: await apiOk("GET", secretPath("ca")),
    tls: await apiOk("GET", secretPath("tls")),
    bundles: (await apiOk("GET", `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${fullname}`))
      .webhooks.map((w) => b64decode(w.clientConfig.caBundle)),
  });
  // What the hook Job runs, as the chart's CronJob identity (no kubelet here).
  const certificates = async (overrides = []) => {
    const job = parseAll(runOk(helm, ["template", release, chartDir, "--namespace", releaseNamespace, "-f", valuesFile, ...overrides,
      "--show-only", "templates/certificates-self-signed.yaml"])).find((o) => o.kind === "Job");
    const { file } = await serviceAccountKubeconfig(releaseNamespace, `${fullname}-certificates`);
    return runOk(bin, [...job.spec.template.spec.containers[0].args, `--kubeconfig=${file}`]);
  };
  let first;
  before(async () => {
    first = await state();
  });

  test("helm upgrade keeps the caBundle the certificate Job set (three-way merge), and renders no certificate", async () => {
    runOk(helm, ["upgrade", release, chartDir, "--kubeconfig", kubeconfig, "--namespace", releaseNamespace, "--no-hooks", "-f", valuesFile]);
    const after = await state();
    assert.equal(after.bundles.length, 3);
    for (const bundle of after.bundles) assert.equal(bundle, b64decode(first.tls.data["ca.crt"]));
    assert.deepEqual(after.tls.data, first.tls.data);
    assert.match(await certificates(), /unchanged, valid until/);
  });

  test("new DNS names: a new serving certificate from the same CA, caBundle unchanged", async () => {
    const out = await certificates(["--set", "certificates.clusterDomain=example.internal"]);
    assert.match(out, /new serving certificate \(the serving certificate's names differ/);
    const after = await state();
    assert.deepEqual(after.ca.data, first.ca.data);
    assert.notEqual(after.tls.data["tls.crt"], first.tls.data["tls.crt"]);
    for (const bundle of after.bundles) assert.equal(bundle, b64decode(first.tls.data["ca.crt"]));
  });
});

describe("helm uninstall, then reconcile --revert restores the ServiceAccounts", () => {
  const marker = "irsa-webhook.io/managed-role-arn";
  const annotationsOf = async (ns, name) => (await apiOk("GET", `/api/v1/namespaces/${ns}/serviceaccounts/${name}`)).metadata.annotations ?? {};
  let before;
  test("what admission and reconcile added carries the marker; an admin's own annotation does not", async () => {
    before = {
      operator: await annotationsOf("psmdb", "percona-server-mongodb-operator"),
      legacy: await annotationsOf("legacy", "app"),
      early: await annotationsOf("apps", "early"),
    };
    assert.equal(before.operator[marker], before.operator[roleAnnotation], JSON.stringify(before.operator));
    assert.equal(before.legacy[marker], legacyRole, JSON.stringify(before.legacy));
    assert.equal(before.early[marker], undefined);
    assert.equal(before.early[roleAnnotation], lateRole);
  });

  test("after the uninstall (no webhook re-adds them on UPDATE), revert removes exactly ours", async () => {
    runOk(helm, ["uninstall", release, "--kubeconfig", kubeconfig, "--namespace", releaseNamespace, "--no-hooks", "--wait"]);
    const r = run(bin, ["reconcile", "--revert", "--kubeconfig", kubeconfig, "-o", "json"]);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const report = JSON.parse(r.stdout);
    const result = (ns, name) => report.actions.find((a) => a.namespace === ns && a.name === name)?.result;
    assert.equal(result("psmdb", "percona-server-mongodb-operator"), "reverted", r.stdout);
    assert.equal(result("legacy", "app"), "reverted", r.stdout);
    assert.equal(result("apps", "early"), undefined, r.stdout);
    const operator = await annotationsOf("psmdb", "percona-server-mongodb-operator");
    assert.equal(operator[roleAnnotation], undefined);
    assert.equal(operator[marker], undefined);
    assert.deepEqual(await annotationsOf("apps", "early"), before.early);
    // Nothing of ours is left.
    const again = JSON.parse(runOk(bin, ["reconcile", "--revert", "--kubeconfig", kubeconfig, "-o", "json"]));
    assert.deepEqual(again.actions, []);
  });
});
