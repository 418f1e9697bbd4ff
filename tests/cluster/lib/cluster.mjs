// Plumbing of the cluster tests: the control plane that tests/cluster/run.sh started (its env:
// KUBECONFIG, IRSA_CP_*), REST calls with the admin certificate, kubectl, waiting, ServiceAccount
// token kubeconfigs, and `irsa-webhook serve` as a local process.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import { root, run, runOk, workDir } from "../../chart/lib/helpers.mjs";

export const kubeconfig = required("KUBECONFIG");
export const server = required("IRSA_CP_SERVER");
export const runDir = required("IRSA_CP_RUN_DIR");
export const kubectlBin = process.env.KUBECTL || path.join(root, ".cache/k8s-tools/kubectl");
const ca = fs.readFileSync(required("IRSA_CP_CA"));
const adminCert = fs.readFileSync(path.join(runDir, "admin.crt"));
const adminKey = fs.readFileSync(path.join(runDir, "admin.key"));
// One keep-alive agent: the tests make hundreds of calls.
const newAgent = () => new https.Agent({ ca, cert: adminCert, key: adminKey, keepAlive: true });
let agent = newAgent();

// After a kube-apiserver restart the kept-alive connections are dead: start afresh.
export function resetConnections() {
  agent.destroy();
  agent = newAgent();
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the cluster tests through tests/cluster/run.sh`);
  return value;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A REST call as the admin (or with `token`). Returns {status, body (parsed JSON or text), warnings}.
export function api(method, urlPath, body, { token, contentType = "application/json" } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const headers = { Accept: "application/json" };
    if (data !== undefined) {
      headers["Content-Type"] = contentType;
      headers["Content-Length"] = Buffer.byteLength(data);
    }
    const options = { method, headers, agent };
    if (token) {
      // A bearer token only: no client certificate, so the token's identity is the one checked.
      headers.Authorization = `Bearer ${token}`;
      options.agent = new https.Agent({ ca });
    }
    const req = https.request(new URL(urlPath, server), options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { text += c; });
      res.on("end", () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        const warnings = [res.headers.warning ?? []].flat();
        resolve({ status: res.statusCode, body: parsed, warnings });
      });
    });
    req.on("error", reject);
    req.end(data);
  });
}

// The same, failing unless the status is 2xx.
export async function apiOk(method, urlPath, body, options) {
  const r = await api(method, urlPath, body, options);
  if (r.status < 200 || r.status > 299) {
    throw new Error(`${method} ${urlPath} -> ${r.status}: ${typeof r.body === "string" ? r.body : r.body.message}`);
  }
  return r.body;
}

export function kubectl(args, options = {}) {
  return run(kubectlBin, ["--kubeconfig", kubeconfig, ...args], options);
}

export function kubectlOk(args, options = {}) {
  return runOk(kubectlBin, ["--kubeconfig", kubeconfig, ...args], options);
}

// Polls `check` (async, returns a truthy value when done) every 50 ms until `timeoutMs`.
export async function waitFor(what, check, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

export const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

// A kubeconfig that authenticates as ServiceAccount namespace/name with a bound token from the
// TokenRequest API, as a pod of that ServiceAccount would.
export async function serviceAccountKubeconfig(namespace, name) {
  const request = { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } };
  const r = await apiOk("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, request);
  const file = path.join(workDir, `${namespace}-${name}.kubeconfig`);
  fs.writeFileSync(file, [
    "apiVersion: v1", "kind: Config",
    "clusters:", "  - name: test", "    cluster:", `      server: ${server}`, `      certificate-authority: ${path.join(runDir, "ca.crt")}`,
    "users:", `  - name: ${name}`, "    user:", `      token: ${r.status.token}`,
    "contexts:", "  - name: test", "    context:", "      cluster: test", `      user: ${name}`,
    "current-context: test", ""].join("\n"));
  return { file, token: r.status.token };
}

export function getHttp(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    }).on("error", reject);
  });
}

// `irsa-webhook serve` with `args`; resolves once /readyz answers 200 on metricsPort.
export async function startServe(bin, args, metricsPort) {
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  const state = { child, stderr: "" };
  child.stderr.on("data", (c) => { state.stderr += c; });
  state.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  await waitFor(`serve ${args.join(" ")} to become ready`, async () => {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}\n${state.stderr}`);
    const r = await getHttp(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => null);
    return r?.status === 200;
  }, 30000).catch((e) => {
    child.kill("SIGKILL");
    throw new Error(`${e.message}\n${state.stderr}`);
  });
  return state;
}

// Names of the AWS_* env vars, the aws-iam-token mounts and volume of a pod: what injection adds.
export function injectedParts(pod) {
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  return {
    containers: Object.fromEntries(containers.map((c) => [c.name, {
      env: (c.env ?? []).filter((e) => e.name.startsWith("AWS_")),
      mounts: (c.volumeMounts ?? []).filter((m) => m.name === "aws-iam-token"),
    }])),
    volume: (pod.spec.volumes ?? []).find((v) => v.name === "aws-iam-token") ?? null,
  };
}

export function isInjected(pod) {
  const parts = injectedParts(pod);
  return parts.volume !== null && Object.values(parts.containers).some((c) => c.env.some((e) => e.name === "AWS_ROLE_ARN"));
}
