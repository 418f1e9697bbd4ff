// A tiny in-memory stand-in for the kube-apiserver, on 127.0.0.1 over plain HTTP: discovery and
// GET (enough for `helm template --dry-run=server`), plus the writes `irsa-webhook certificates`
// makes: server-side apply of a Secret (creates or replaces it; the request must name a
// fieldManager) and a strategic merge patch of a MutatingWebhookConfiguration (webhooks merged by
// name, as the real API server does for that list). Objects live in `store`, keyed
// "<resource>/<namespace>/<name>" ("<resource>//<name>" for cluster-scoped ones); every request
// is appended to `requests`. Everything else is 404.
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

function status(res, code, reason, message) {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
}

// The writes of `irsa-webhook certificates`; false when the request is not one of them.
function write(store, req, p, url, body, res) {
  if (req.method !== "PATCH") return false;
  const type = req.headers["content-type"];
  const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(p);
  if (secret && type === "application/apply-patch+yaml") {
    if (!url.searchParams.get("fieldManager")) { status(res, 400, "BadRequest", "fieldManager is required for apply"); return true; }
    const object = JSON.parse(body);
    if (object.metadata?.name !== secret[2] || object.metadata?.namespace !== secret[1]) {
      status(res, 400, "BadRequest", "name and namespace must match the path"); return true;
    }
    store.set(`secrets/${secret[1]}/${secret[2]}`, object);
    json(res, object);
    return true;
  }
  const mwc = /^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/([^/]+)$/.exec(p);
  if (mwc && type === "application/strategic-merge-patch+json") {
    const key = `mutatingwebhookconfigurations//${mwc[1]}`;
    const current = store.get(key);
    if (!current) { notFound(res, p); return true; }
    for (const patch of JSON.parse(body).webhooks ?? []) {
      const webhook = current.webhooks.find((w) => w.name === patch.name);
      if (!webhook) { status(res, 422, "Invalid", `no webhook ${patch.name}`); return true; }
      webhook.clientConfig = { ...webhook.clientConfig, ...patch.clientConfig };
    }
    json(res, current);
    return true;
  }
  return false;
}

// store: Map of "<resource>/<namespace>/<name>" -> object; requests: array that receives
// {method, path, contentType} of each request. Returns {url, close}.
export async function startFakeApiServer(store, requests = []) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    const p = url.pathname.replace(/\/$/, "");
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method, path: p, contentType: req.headers["content-type"] });
    if (write(store, req, p, url, body, res)) return;
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
    const clusterItem = /^\/apis\/[^/]+\/[^/]+\/([^/]+)\/([^/]+)$/.exec(p);
    if (clusterItem) {
      const o = store.get(`${clusterItem[1]}//${clusterItem[2]}`);
      return o ? json(res, o) : notFound(res, p);
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
