// The chart's Deployment, run for real: `irsa-webhook` started with exactly the container args the
// chart renders, the ConfigMap and the self-signed Secret (made by the chart's certificate Job
// args against a fake API server) laid out as the kubelet mounts them
// (atomic-writer `..data` symlinks), on 127.0.0.1. Checks that serve accepts the chart's flags, the
// probes' paths answer on the metrics port, the generated certificate verifies for the Service's
// DNS name against the webhook configuration's caBundle (as the kube-apiserver checks it), the
// Percona config mutates an rs0 pod, and a ConfigMap update via symlink swap is reloaded live.
// Skipped when the binary has no `serve` subcommand yet.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import YAML from "yaml";
import { b64decode, fullname, namespace, one, podSpecOf, render, root, run, workDir } from "./lib/helpers.mjs";
import { startFakeCluster } from "./lib/certificates.mjs";

const bin = process.env.IRSA_WEBHOOK_BIN;
const hasServe = Boolean(bin) && run(bin, ["serve", "--help"]).status === 0;
const skip = !bin ? "IRSA_WEBHOOK_BIN not set" : !hasServe ? "this irsa-webhook has no serve subcommand yet" : false;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Writes files the way the kubelet's atomic writer does: <dir>/<key> -> ..data/<key>,
// ..data -> ..<timestamp>/. A later call swaps ..data atomically.
let generation = 0;
function atomicWrite(dir, files) {
  fs.mkdirSync(dir, { recursive: true });
  const version = `..2026_01_01_00_00_0${generation++}`;
  fs.mkdirSync(path.join(dir, version));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, version, name), content);
  const tmp = path.join(dir, "..data_tmp");
  fs.symlinkSync(version, tmp);
  fs.renameSync(tmp, path.join(dir, "..data"));
  for (const name of Object.keys(files)) {
    const link = path.join(dir, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join("..data", name), link);
  }
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    }).on("error", reject);
  });
}

describe("the chart's Deployment against the real server", { skip }, () => {
  const objects = skip ? [] : render(["-f", path.join(root, "examples/helm/percona-values.yaml")]);
  const dir = path.join(workDir, "serve");
  let child;
  let exited;
  let stderr = "";
  let port;
  let metricsPort;
  let caBundle;

  const admit = (pod) => new Promise((resolve, reject) => {
    const review = JSON.stringify({
      apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
      request: {
        uid: "4d1c9f62-0d1b-4c44-9d55-2f9c7f0a1b2c", kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" }, namespace: pod.metadata.namespace,
        operation: "CREATE", userInfo: { username: "system:serviceaccount:kube-system:statefulset-controller" },
        object: pod, dryRun: false,
      },
    });
    // Dial 127.0.0.1 but verify the certificate for the Service name, as the kube-apiserver does.
    const req = https.request({
      host: "127.0.0.1", port, path: "/mutate", method: "POST", ca: caBundle,
      servername: `${fullname}.${namespace}.svc`,
      checkServerIdentity: (_host, cert) => require_san(cert),
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(review) },
    }, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode} ${body}`))));
    });
    req.on("error", reject);
    req.end(review);
  });
  const require_san = (cert) => {
    const want = `DNS:${fullname}.${namespace}.svc`;
    return cert.subjectaltname?.split(", ").includes(want) ? undefined : new Error(`certificate lacks ${want}`);
  };

  before(async () => {
    const configMap = one(objects, "ConfigMap", `${fullname}-config`);
    // The self-signed mode's Secret and caBundle, as `irsa-webhook certificates` makes them in a
    // cluster (the pre-install and post-install runs of the chart's hook Job).
    const cluster = await startFakeCluster();
    for (const step of ["pre-install", "post-install"]) {
      if (step === "post-install") cluster.createWebhookConfiguration(objects);
      const r = await cluster.runJob(objects);
      if (r.code !== 0) throw new Error(`irsa-webhook certificates (${step}) failed: ${r.stderr}`);
    }
    const tlsSecret = cluster.secret(`${fullname}-tls`);
    caBundle = b64decode(cluster.store.get(`mutatingwebhookconfigurations//${fullname}`).webhooks[0].clientConfig.caBundle);
    await cluster.close();
    atomicWrite(path.join(dir, "config"), configMap.data);
    atomicWrite(path.join(dir, "tls"), Object.fromEntries(Object.entries(tlsSecret.data).map(([k, v]) => [k, b64decode(v)])));

    port = await freePort();
    metricsPort = await freePort();
    const container = podSpecOf(one(objects, "Deployment")).containers[0];
    const args = container.args.map((a) => a
      .replace("/etc/irsa-webhook/config", path.join(dir, "config"))
      .replace("/etc/irsa-webhook/tls", path.join(dir, "tls"))
      .replace(/^--port=\d+$/, `--port=${port}`)
      .replace(/^--metrics-port=\d+$/, `--metrics-port=${metricsPort}`));
    args.push("--bind-address=127.0.0.1");
    // No in-cluster config here: the server runs in config-only mode, as with serviceAccountCache off.
    const env = { ...process.env };
    delete env.KUBERNETES_SERVICE_HOST;
    child = spawn(bin, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (c) => { stderr += c; });
    exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

    for (let i = 0; i < 100; i++) {
      const r = await get(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => null);
      if (r?.status === 200) return;
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`the server did not become ready with the chart's args ${args.join(" ")}\n${stderr}`);
  });

  after(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
  });

  test("the probes' paths answer on the metrics port", async () => {
    const container = podSpecOf(one(objects, "Deployment")).containers[0];
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      assert.equal(probe.httpGet.port, "metrics");
      const r = await get(`http://127.0.0.1:${metricsPort}${probe.httpGet.path}`);
      assert.equal(r.status, 200, probe.httpGet.path);
    }
    const metrics = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.match(metrics.body, /^irsa_webhook_build_info/m);
  });

  test("TLS verifies for <service>.<namespace>.svc with the caBundle, and an rs0 pod is mutated", async () => {
    const pod = YAML.parse(fs.readFileSync(path.join(root, "examples/psmdb-rs0-pod.yaml"), "utf8"));
    const review = await admit(pod);
    assert.equal(review.response.uid, "4d1c9f62-0d1b-4c44-9d55-2f9c7f0a1b2c");
    assert.equal(review.response.allowed, true);
    assert.equal(review.response.patchType, "JSONPatch");
    assert.match(b64decode(review.response.patch), /arn:aws:iam::111122223333:role\/psmdb-backup/);
  });

  test("a ConfigMap update (kubelet symlink swap) is reloaded without restart", async () => {
    const configMap = one(objects, "ConfigMap", `${fullname}-config`);
    const changed = configMap.data["config.yaml"].replace("role/psmdb-backup", "role/psmdb-backup-v2");
    assert.notEqual(changed, configMap.data["config.yaml"]);
    atomicWrite(path.join(dir, "config"), { "config.yaml": changed });
    const pod = YAML.parse(fs.readFileSync(path.join(root, "examples/psmdb-rs0-pod.yaml"), "utf8"));
    for (let i = 0; i < 100; i++) {
      const review = await admit(pod);
      if (b64decode(review.response.patch ?? "").includes("role/psmdb-backup-v2")) {
        assert.equal(child.exitCode, null, "the server restarted");
        return;
      }
      await sleep(100);
    }
    assert.fail(`the new config was not picked up within 10 s\n${stderr}`);
  });

  test("SIGTERM: the server exits 0 within the chart's shutdown grace", async () => {
    child.kill("SIGTERM");
    const result = await Promise.race([exited, sleep(15000).then(() => "timeout")]);
    assert.deepEqual(result, { code: 0, signal: null }, stderr);
  });
});
