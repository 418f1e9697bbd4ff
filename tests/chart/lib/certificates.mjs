// The self-signed mode as it runs in a cluster: the chart's certificate Job args run by the real
// `irsa-webhook certificates` against the fake API server (lib/fake-apiserver.mjs).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import YAML from "yaml";
import { fullname, namespace, one, podSpecOf, writeTemp } from "./helpers.mjs";
import { startFakeApiServer } from "./fake-apiserver.mjs";

export async function startFakeCluster() {
  const store = new Map();
  const requests = [];
  const server = await startFakeApiServer(store, requests);
  const kubeconfig = writeTemp(`fake-cluster-${server.url.split(":").pop()}.kubeconfig`, YAML.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "fake",
    clusters: [{ name: "fake", cluster: { server: server.url } }],
    users: [{ name: "fake", user: { token: "fake" } }],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "fake", namespace } }],
  }));
  // Runs the rendered Job's container args, `overrides` ("--flag=value") replacing the same
  // flags; resolves {code, stdout, stderr}.
  const runJob = (objects, overrides = []) => {
    const flagOf = (a) => a.split("=")[0];
    const args = podSpecOf(one(objects, "Job", `${fullname}-certificates-hook`)).containers[0].args
      .map((a) => overrides.find((o) => flagOf(o) === flagOf(a)) ?? a);
    return promisify(execFile)(process.env.IRSA_WEBHOOK_BIN, [...args, "--kubeconfig", kubeconfig],
      { encoding: "utf8" }).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
  };
  // What Helm creates after the pre-install hook: the webhook configuration as rendered.
  const createWebhookConfiguration = (objects) => {
    const mwc = structuredClone(one(objects, "MutatingWebhookConfiguration", fullname));
    store.set(`mutatingwebhookconfigurations//${fullname}`, mwc);
  };
  const secret = (name) => store.get(`secrets/${namespace}/${name}`);
  return { store, requests, runJob, createWebhookConfiguration, secret, close: () => server.close() };
}
