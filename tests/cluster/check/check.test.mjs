// `irsa-webhook check` and the exec credential plugin against a real kube-apiserver and
// kube-controller-manager (scripts/control-plane.sh, started by run.sh; no kubelet: pods stay
// Pending, admission is what matters). On one control plane, in order:
//   - `irsa-webhook serve` runs here on 127.0.0.1 with examples/config.yaml plus a "legacy"
//     binding and a throwaway CA (check runs with either part of that config);
//     a MutatingWebhookConfiguration (failurePolicy Ignore, as the chart's default) sends pods
//     and ServiceAccounts to it by URL;
//   - check runs as a ServiceAccount bound to examples/check-rbac.yaml only (the documented RBAC
//     is sufficient), its token handed over by the exec plugin stand-in;
//   - healthy: exit 0, the dry-run pod and ServiceAccount come back injected/annotated, nothing is
//     stored, the operator pod created by the Deployment controller is listed as injected;
//   - the webhook process down: exit 1 saying the dry-run pod came back without AWS_ROLE_ARN, that
//     failurePolicy Ignore let it through and that nothing answers at the URL; `reconcile
//     --restart-workloads` then restarts nothing;
//   - the webhook configuration pointing at the wrong port: exit 1 naming that URL;
//   - failurePolicy Fail with the webhook down: the dry-run is refused, and check says so;
//   - a Deployment's pod created before the webhook: "started before the webhook was
//     registered"; after `reconcile --restart-workloads` the new pod is injected and the old one
//     "restart pending" (no kubelet: the rollout never finishes);
//   - the exec plugin: its token authenticates, a failing plugin is one clear line.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, "../../..");
const bin = process.env.IRSA_WEBHOOK_BIN;
const kubectlBin = process.env.KUBECTL;
const adminKubeconfig = process.env.KUBECONFIG;
const server = process.env.IRSA_CP_SERVER;
const caFile = process.env.IRSA_CP_CA;
if (!bin || !kubectlBin || !adminKubeconfig || !server || !caFile) {
  throw new Error("run through tests/cluster/check/run.sh (IRSA_WEBHOOK_BIN, KUBECTL, KUBECONFIG, IRSA_CP_* unset)");
}
const config = path.join(root, "examples/config.yaml");
const plugin = path.join(root, "tests/kube/testdata/exec-plugin.sh");
const role = "arn:aws:iam::111122223333:role/psmdb-backup";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "irsa-check-cluster-"));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function kubectl(args, input) {
  return execFileSync(kubectlBin, ["--kubeconfig", adminKubeconfig, ...args], {
    input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"],
  });
}
const apply = (object) => kubectl(["apply", "-f", "-"], JSON.stringify(object));

// Runs irsa-webhook; returns {status, stdout, stderr}.
function webhook(args, env = {}) {
  const r = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what, probe, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// A kubeconfig whose user gets its token from the exec plugin stand-in.
function execKubeconfig(name, env) {
  const file = path.join(work, `${name}.kubeconfig`);
  const envList = Object.entries(env).map(([k, v]) => ({ name: k, value: v }));
  fs.writeFileSync(file, JSON.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "c",
    clusters: [{ name: "k", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: "check", user: { exec: {
      apiVersion: "client.authentication.k8s.io/v1", interactiveMode: "Never", command: plugin,
      args: ["eks", "get-token", "--cluster-name", "irsa-test"], env: envList } } }],
    contexts: [{ name: "c", context: { cluster: "k", user: "check" } }],
  }));
  return file;
}

// A namespace whose Deployment exists before the webhook, with a binding of its own.
const legacyRole = "arn:aws:iam::111122223333:role/legacy";
const legacyConfig = path.join(work, "legacy-config.json");
fs.writeFileSync(legacyConfig, JSON.stringify({ bindings: [{
  name: "legacy", roleArn: legacyRole, namespaces: ["legacy"], serviceAccounts: ["default"], annotateServiceAccounts: false,
}] }));

// What serve runs: examples/config.yaml's bindings and the legacy one (bindings is its last key).
const serveConfig = path.join(work, "serve-config.yaml");
fs.writeFileSync(serveConfig, `${fs.readFileSync(config, "utf8").trimEnd()}
  - name: legacy
    roleArn: ${legacyRole}
    namespaces: [legacy]
    serviceAccounts: [default]
    annotateServiceAccounts: false
`);

let servePort;
let serveProcess;
let checkKubeconfig;
const pluginLog = path.join(work, "plugin.log");

async function startServe() {
  const metricsPort = await freePort();
  serveProcess = spawn(bin, [
    "serve", "--config", serveConfig, "--tls-cert-file", path.join(work, "tls.crt"),
    "--tls-key-file", path.join(work, "tls.key"), "--bind-address", "127.0.0.1",
    "--port", String(servePort), "--metrics-port", String(metricsPort),
    "--kubeconfig", adminKubeconfig, "--log-level", "warn",
  ], { stdio: ["ignore", "ignore", "inherit"] });
  await waitFor("serve /readyz", async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      return res.status === 200;
    } catch {
      return false;
    }
  });
}

async function stopServe() {
  if (!serveProcess || serveProcess.exitCode !== null) return;
  const exited = new Promise((resolve) => serveProcess.once("exit", resolve));
  serveProcess.kill("SIGKILL");
  await exited;
}

function webhookConfiguration(port, failurePolicy = "Ignore") {
  return {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration",
    metadata: { name: "irsa-webhook" },
    webhooks: [{
      name: "pod-identity.irsa-webhook.dev", admissionReviewVersions: ["v1"], sideEffects: "None",
      failurePolicy, timeoutSeconds: 5, reinvocationPolicy: "IfNeeded",
      clientConfig: {
        url: `https://127.0.0.1:${port}/mutate`,
        caBundle: fs.readFileSync(path.join(work, "ca.crt")).toString("base64"),
      },
      namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }] },
      rules: [
        { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" },
        { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["serviceaccounts"], scope: "Namespaced" },
      ],
    }],
  };
}

function check(kubeconfig = checkKubeconfig, extra = []) {
  return webhook(["check", "--config", config, "--kubeconfig", kubeconfig, ...extra]);
}

before(async () => {
  // A throwaway CA and a serving certificate for 127.0.0.1.
  const openssl = (args) => execFileSync("openssl", args, { cwd: work, stdio: "pipe" });
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=check-test-ca"]);
  openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=127.0.0.1"]);
  fs.writeFileSync(path.join(work, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl(["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "tls.crt"]);

  // Before the webhook exists: the legacy Deployment's pod.
  apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "legacy" } });
  await waitFor("the legacy default ServiceAccount", async () =>
    spawnSync(kubectlBin, ["--kubeconfig", adminKubeconfig, "-n", "legacy", "get", "sa", "default"]).status === 0);
  apply({
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "legacy", namespace: "legacy" },
    spec: {
      replicas: 1, selector: { matchLabels: { app: "legacy" } },
      template: { metadata: { labels: { app: "legacy" } }, spec: { containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }] } },
    },
  });
  await waitFor("the legacy pod", async () => kubectl(["-n", "legacy", "get", "pods", "-o", "name"]).trim() !== "");
  await sleep(1100);  // creationTimestamp has one-second resolution

  servePort = await freePort();
  await startServe();
  apply(webhookConfiguration(servePort));

  // The check identity: examples/check-rbac.yaml and nothing else, its token through the plugin.
  apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "irsa-system" } });
  kubectl(["apply", "-f", path.join(root, "examples/check-rbac.yaml")]);
  const token = kubectl(["-n", "irsa-system", "create", "token", "irsa-webhook-check", "--duration=1h"]).trim();
  checkKubeconfig = execKubeconfig("check", { PLUGIN_TOKEN: token, PLUGIN_EXPIRES_IN: "3600", PLUGIN_LOG: pluginLog });

  // The Percona namespace, created after the webhook: ServiceAccounts annotated by admission, the
  // operator's pod (made by the Deployment and ReplicaSet controllers) injected.
  apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "psmdb" } });
  apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "percona-server-mongodb-operator", namespace: "psmdb" } });
  const labels = { "app.kubernetes.io/name": "percona-server-mongodb-operator" };
  apply({
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: { name: "percona-server-mongodb-operator", namespace: "psmdb" },
    spec: {
      replicas: 1, selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: "percona-server-mongodb-operator",
          containers: [{ name: "percona-server-mongodb-operator", image: "percona/percona-server-mongodb-operator:1.21.0" }],
        },
      },
    },
  });
  await waitFor("the operator pod", async () =>
    kubectl(["-n", "psmdb", "get", "pods", "-l", "app.kubernetes.io/name=percona-server-mongodb-operator", "-o", "name"]).trim() !== "");
  await waitFor("the default ServiceAccount", async () =>
    spawnSync(kubectlBin, ["--kubeconfig", adminKubeconfig, "-n", "psmdb", "get", "sa", "default"]).status === 0);
});

after(async () => {
  await stopServe();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("irsa-webhook check against the real API server", () => {
  test("a healthy install: exit 0, as the check ClusterRole's identity through the exec plugin", () => {
    const r = check(checkKubeconfig, ["-o", "json"]);
    assert.equal(r.status, 0, r.all);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true);
    const dryRun = report.items.filter((i) => i.section === "dry-run");
    assert.deepEqual(dryRun.map((i) => [i.kind, i.status]), [["Pod", "ok"], ["ServiceAccount", "ok"]], r.stdout);
    assert.match(dryRun[0].message, new RegExp(`came back injected: AWS_ROLE_ARN=${role}`));
    const pods = report.items.filter((i) => i.section === "pods");
    assert.equal(pods.length, 1, r.stdout);
    assert.equal(pods[0].state, "injected");
    assert.match(pods[0].name, /^percona-server-mongodb-operator-/);
    const accounts = report.items.filter((i) => i.section === "serviceaccounts");
    assert.deepEqual(accounts.map((i) => [i.name, i.status]).sort(),
      [["default", "ok"], ["percona-server-mongodb-operator", "ok"]], r.stdout);
    // dryRun=All: the API server stored nothing.
    const names = kubectl(["-n", "psmdb", "get", "pods", "-o", "name"]);
    assert.doesNotMatch(names, /irsa-webhook-check-/);
    // The plugin ran once for all of check's requests (its token is cached until expiry).
    assert.equal(fs.readFileSync(pluginLog, "utf8").trim().split("\n").length, 1);
  });

  test("the webhook process down (failurePolicy Ignore): exit 1 with the reason; reconcile restarts nothing", async () => {
    await stopServe();
    try {
      const r = check();
      assert.equal(r.status, 1, r.all);
      assert.match(r.stdout, /dry-run pod in psmdb \(ServiceAccount percona-server-mongodb-operator\) came back without AWS_ROLE_ARN/);
      assert.match(r.stdout, /failurePolicy Ignore, so the API server let the pod through unchanged/);
      assert.match(r.stdout, new RegExp(`nothing answers at https://127\\.0\\.0\\.1:${servePort}/mutate from here`));
      assert.match(r.stdout, /is `irsa-webhook serve` running, and listening on that address and port\?/);
      assert.match(r.stderr, /check failed: 2 problem\(s\)/);

      const before = kubectl(["-n", "psmdb", "get", "deployment", "percona-server-mongodb-operator", "-o", "jsonpath={.metadata.generation}"]);
      const reconcile = webhook(["reconcile", "--config", config, "--kubeconfig", adminKubeconfig, "--restart-workloads"]);
      assert.equal(reconcile.status, 1, reconcile.all);
      assert.match(reconcile.stderr, /restarted nothing: the API server did not inject the dry-run pod/);
      const afterGeneration = kubectl(["-n", "psmdb", "get", "deployment", "percona-server-mongodb-operator", "-o", "jsonpath={.metadata.generation}"]);
      assert.equal(afterGeneration, before);
    } finally {
      await startServe();
    }
    assert.equal(check().status, 0);
  });

  test("the webhook configuration points at the wrong port: exit 1 naming it", async () => {
    const wrongPort = await freePort();
    apply(webhookConfiguration(wrongPort));
    try {
      const r = check();
      assert.equal(r.status, 1, r.all);
      assert.match(r.stdout, /came back without AWS_ROLE_ARN/);
      assert.match(r.stdout, new RegExp(`calls https://127\\.0\\.0\\.1:${wrongPort}/mutate: nothing answers at https://127\\.0\\.0\\.1:${wrongPort}/mutate from here`));
      assert.match(r.stdout, /If it listens elsewhere, fix clientConfig\.url/);
    } finally {
      apply(webhookConfiguration(servePort));
    }
    assert.equal(check().status, 0);
  });

  test("failurePolicy Fail with the webhook down: the dry-run pod is refused, check says why", async () => {
    apply(webhookConfiguration(servePort, "Fail"));
    await stopServe();
    try {
      const r = check();
      assert.equal(r.status, 1, r.all);
      assert.match(r.stdout, /the API server refused the dry-run pod in psmdb \(ServiceAccount percona-server-mongodb-operator\) because calling a webhook failed \(failurePolicy Fail: no pod can be created in psmdb until it is fixed\)/);
      assert.match(r.stdout, /failed calling webhook "pod-identity\.irsa-webhook\.dev"/);
    } finally {
      apply(webhookConfiguration(servePort));
      await startServe();
    }
    assert.equal(check().status, 0);
  });

  test("pods created before the webhook, then reconcile: injected new pod, restart pending old one", async () => {
    const legacyCheck = () => webhook(["check", "--config", legacyConfig, "--kubeconfig", checkKubeconfig, "-o", "json"]);
    const podsOf = (r) => JSON.parse(r.stdout).items.filter((i) => i.section === "pods");
    let r = legacyCheck();
    assert.equal(r.status, 1, r.all);
    let pods = podsOf(r);
    assert.equal(pods.length, 1, r.stdout);
    const [old] = pods;
    assert.equal(old.state, "not-injected");
    assert.match(old.message, /started before the webhook was registered \(pod created .*, webhook configuration created .*\): restart its workload \(irsa-webhook reconcile --restart-workloads\)/);

    const reconcile = webhook(["reconcile", "--config", legacyConfig, "--kubeconfig", adminKubeconfig, "--restart-workloads"]);
    assert.equal(reconcile.status, 0, reconcile.all);
    assert.match(reconcile.stdout, /Deployment legacy\/legacy: restarted/);
    await waitFor("the rolled pod", async () => kubectl(["-n", "legacy", "get", "pods", "-o", "name"]).trim().split("\n").length === 2);
    r = legacyCheck();
    pods = podsOf(r);
    assert.equal(pods.length, 2, r.stdout);
    const fresh = pods.find((p) => p.name !== old.name);
    assert.equal(fresh.state, "injected", r.stdout);
    assert.equal(fresh.message, `role ${legacyRole}`);
    const pending = pods.find((p) => p.name === old.name);
    assert.equal(pending.state, "not-injected");
    assert.match(pending.message, /restart pending: Deployment legacy has a newer pod template \(kubectl\.kubernetes\.io\/restartedAt=.*\) that has not replaced this pod yet/);
    assert.equal(r.status, 1, "a pod still without credentials is not all well");
  });

  test("the exec plugin: a refused token is a 401, a failing plugin one line with its stderr", () => {
    const wrong = check(execKubeconfig("wrong", { PLUGIN_TOKEN: "not-a-valid-token" }));
    assert.equal(wrong.status, 1, wrong.all);
    assert.match(wrong.all, /401 Unauthorized/);
    const failing = check(execKubeconfig("failing", { PLUGIN_MODE: "fail" }));
    assert.equal(failing.status, 1, failing.all);
    assert.match(failing.stderr, /exec plugin ".*exec-plugin\.sh eks get-token --cluster-name irsa-test": exited with status 3: .*run aws sso login/);
  });
});
