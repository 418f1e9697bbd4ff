// Strict structural types for the custom resources the chart renders, which kubernetes-models does
// not cover: cert-manager.io/v1 Issuer and Certificate, monitoring.coreos.com/v1 ServiceMonitor.
// Written from the CRDs' OpenAPI schemas (cert-manager v1.18, prometheus-operator v0.83), limited to
// the fields a chart like this may set: a field that is not declared here fails the type check,
// exactly as an unknown field of a built-in kind does, so a typo such as `dnsName` cannot pass.
import type { IObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";
import type { ILabelSelector } from "@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector";

// Go durations as both CRDs take them ("8760h", "30s", "1h30m" is not used by the chart).
export type GoDuration = `${number}${"h" | "m" | "s" | "ms"}`;

export interface ICertManagerIssuerRef {
  name: string;
  kind?: string;
  group?: string;
}

export interface IIssuer {
  apiVersion: "cert-manager.io/v1";
  kind: "Issuer";
  metadata: IObjectMeta & { name: string };
  spec: {
    selfSigned?: { crlDistributionPoints?: string[] };
    ca?: { secretName: string; crlDistributionPoints?: string[]; ocspServers?: string[]; issuingCertificateURLs?: string[] };
  };
}

export type KeyUsage =
  | "signing" | "digital signature" | "content commitment" | "key encipherment" | "key agreement"
  | "data encipherment" | "cert sign" | "crl sign" | "encipher only" | "decipher only" | "any"
  | "server auth" | "client auth" | "code signing" | "email protection" | "s/mime" | "ipsec end system"
  | "ipsec tunnel" | "ipsec user" | "timestamping" | "ocsp signing" | "microsoft sgc" | "netscape sgc";

export interface ICertificate {
  apiVersion: "cert-manager.io/v1";
  kind: "Certificate";
  metadata: IObjectMeta & { name: string };
  spec: {
    secretName: string;
    issuerRef: ICertManagerIssuerRef;
    commonName?: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    uris?: string[];
    emailAddresses?: string[];
    duration?: GoDuration;
    renewBefore?: GoDuration;
    usages?: KeyUsage[];
    isCA?: boolean;
    revisionHistoryLimit?: number;
    privateKey?: {
      algorithm?: "RSA" | "ECDSA" | "Ed25519";
      size?: number;
      encoding?: "PKCS1" | "PKCS8";
      rotationPolicy?: "Never" | "Always";
    };
    secretTemplate?: { annotations?: Record<string, string>; labels?: Record<string, string> };
    subject?: {
      organizations?: string[];
      organizationalUnits?: string[];
      countries?: string[];
    };
  };
}

export interface IServiceMonitorEndpoint {
  port?: string;
  targetPort?: string | number;
  path?: string;
  scheme?: "http" | "https";
  interval?: GoDuration;
  scrapeTimeout?: GoDuration;
  honorLabels?: boolean;
  honorTimestamps?: boolean;
  params?: Record<string, string[]>;
  relabelings?: Array<Record<string, unknown>>;
  metricRelabelings?: Array<Record<string, unknown>>;
}

export interface IServiceMonitor {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "ServiceMonitor";
  metadata: IObjectMeta & { name: string };
  spec: {
    selector: ILabelSelector;
    endpoints: IServiceMonitorEndpoint[];
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    jobLabel?: string;
    targetLabels?: string[];
    podTargetLabels?: string[];
    sampleLimit?: number;
  };
}

// kind -> type, for the generated checks.
export interface CustomResources {
  "cert-manager.io/v1/Issuer": IIssuer;
  "cert-manager.io/v1/Certificate": ICertificate;
  "monitoring.coreos.com/v1/ServiceMonitor": IServiceMonitor;
}
