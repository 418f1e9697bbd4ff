// A tiny in-memory stand-in for the kube-apiserver, on 127.0.0.1 over plain HTTP: just enough
// discovery and GET for `helm template --dry-run=server`, so that the chart's `lookup` of the
// self-signed certificate Secrets can be tested across "upgrades" without a cluster.
// Objects are served read-only from `store` (keyed "namespace/name" per resource); everything else
// is 404. It never accepts writes.
import http from "node:http";

const legacyResources = [
  ["configmaps", "ConfigMap", true], ["secrets", "Secret", true], ["serviceaccounts", "ServiceAccount", true],
  ["services", "Service", true], ["pods", "Pod", true], ["namespaces", "Namespace", false],
];
const groups = {
  "apps/v1": [["deployments", "Deployment", true]],
  "batch/v1": [["jobs", "Job", true]],
  "policy/v1": [["poddisruptionbudgets", "PodDisruptionBudget", true]],
  "rbac.authorization.k8s.io/v1": [["clusterroles", "ClusterRole", false], ["clusterrolebindings", "ClusterRoleBinding", false]],
  "admissionregistration.k8s.io/v1": [["mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false]],
  "networking.k8s.io/v1": [["networkpolicies", "NetworkPolicy", true]],
  "cert-manager.io/v1": [["certificates", "Certificate", true], ["issuers", "Issuer", true]],
  "monitoring.coreos.com/v1": [["servicemonitors", "ServiceMonitor", true]],
};

function resourceList(groupVersion, resources) {
  return {
    kind: "APIResourceList", apiVersion: "v1", groupVersion,
    resources: resources.map(([name, kind, namespaced]) => ({
      name, singularName: kind.toLowerCase(), namespaced, kind,
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    })),
  };
}

function notFound(res, what) {
  res.writeHead(404, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure",
    message: `${what} not found`, reason: "NotFound", code: 404 }));
}

function json(res, body) {
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

// store: Map of "secrets/<namespace>/<name>" -> object. Returns {url, close}.
export async function startFakeApiServer(store) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    const p = url.pathname.replace(/\/$/, "");
    if (req.method !== "GET") return notFound(res, `${req.method} ${p}`);
    if (p === "/version") {
      return json(res, { major: "1", minor: "33", gitVersion: "v1.33.0", platform: "linux/amd64" });
    }
    if (p === "/api") {
      return json(res, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    }
    if (p === "/apis") {
      const byGroup = {};
      for (const gv of Object.keys(groups)) {
        const [group, version] = gv.split("/");
        (byGroup[group] ??= []).push({ groupVersion: gv, version });
      }
      return json(res, { kind: "APIGroupList", apiVersion: "v1", groups: Object.entries(byGroup).map(([name, versions]) => ({
        name, versions, preferredVersion: versions[0] })) });
    }
    if (p === "/api/v1") return json(res, resourceList("v1", legacyResources));
    const gv = /^\/apis\/([^/]+\/[^/]+)$/.exec(p);
    if (gv && groups[gv[1]]) return json(res, resourceList(gv[1], groups[gv[1]]));
    // GET /api/v1/namespaces/<ns>/<resource>[/<name>]
    const item = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (item) {
      const [, ns, resource, name] = item;
      if (name) {
        const o = store.get(`${resource}/${ns}/${name}`);
        return o ? json(res, o) : notFound(res, `${resource} ${ns}/${name}`);
      }
      // A list (Helm's release storage looks for earlier releases): none.
      return json(res, { kind: "List", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: [] });
    }
    return notFound(res, p);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
