// Shared plumbing of the chart tests: paths, running tools, rendering the chart, finding objects.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

// Re-exported for tests/cluster, which shares this directory's node_modules.
export { YAML };

export const testDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const root = path.resolve(testDir, "../..");
export const chartDir = path.join(root, "charts/irsa-webhook");
export const helm = process.env.HELM || path.join(root, ".cache/k8s-tools/helm");
// Release and namespace differ from the chart name on purpose: a template that mixes up
// fullname, name and namespace renders wrong names here.
export const release = "iw";
export const namespace = "irsa-system";
export const fullname = "iw-irsa-webhook";
export const kubeVersion = "1.33.0";

export const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "irsa-chart-test-"));
process.on("exit", () => fs.rmSync(workDir, { recursive: true, force: true }));

export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runOk(cmd, args, options = {}) {
  const r = run(cmd, args, options);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

export function writeTemp(name, content) {
  const file = path.join(workDir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

export function parseAll(text) {
  const docs = YAML.parseAllDocuments(text, { strict: true, uniqueKeys: true });
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors[0].message}`);
    const o = doc.toJS({ maxAliasCount: 0 });
    if (o !== null && o !== undefined) objects.push(o);
  }
  return objects;
}

export function helmTemplateArgs(args) {
  return ["template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion, ...args];
}

// Renders the chart; returns the parsed objects (helm test hooks included).
export function render(args = []) {
  return parseAll(runOk(helm, helmTemplateArgs(args)));
}

// Renders the chart expecting failure; returns stderr.
export function renderFails(args) {
  const r = run(helm, helmTemplateArgs(args));
  if (r.status === 0) throw new Error(`helm template ${args.join(" ")} succeeded, expected a failure`);
  return r.stderr;
}

export function find(objects, kind, name) {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
}

export function one(objects, kind, name) {
  const found = find(objects, kind, name);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  }
  return found[0];
}

// The pod spec of a Deployment, Job or Pod.
export function podSpecOf(o) {
  if (o.kind === "Pod") return o.spec;
  return o.spec.template.spec;
}

export function podTemplateMetadataOf(o) {
  if (o.kind === "Pod") return o.metadata;
  return o.spec.template.metadata;
}

export function b64decode(s) {
  return Buffer.from(s, "base64").toString("utf8");
}
