// The one registry client: reads manifests and blobs over the distribution HTTP API, in-process, with
// keep-alive (node's fetch pools connections per host), the credentials docker already stores
// (config.json "auths"), bearer-token challenges, and a retry for the 5xx/429 answers registries give
// under concurrent load. Plain HTTP only for loopback hosts and registries the spec marks insecure.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ImageRef } from "@multiarch/spec";

type Env = Readonly<Record<string, string | undefined>>;

export const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

export interface ManifestResponse {
  digest: string;
  mediaType: string;
  json: Record<string, unknown>;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RegistryClientOptions {
  env: Env;
  /** Hosts reached over plain HTTP besides loopback ones (registries marked insecure in the spec). */
  insecureHosts?: readonly string[];
  timeoutMs?: number;
  /** Credentials per host that win over docker's stored ones (the spec's, for doctor). Never printed. */
  credentials?: Readonly<Record<string, { username: string; password: string }>>;
  /** For tests: a fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: RegistryClientOptions) {
    this.fetch = opts.fetch ?? fetch;
  }

  /** The manifest (index or image) a reference names, with its digest. */
  async manifest(ref: ImageRef): Promise<ManifestResponse> {
    const res = await this.request(ref, `manifests/${ref.digest ?? ref.tag ?? "latest"}`, { accept: INDEX_TYPES.join(", ") });
    const text = await res.text();
    const json = JSON.parse(text) as Record<string, unknown>;
    const digest = res.headers.get("docker-content-digest") ?? `sha256:${await sha256(text)}`;
    return { digest, mediaType: String(json.mediaType ?? res.headers.get("content-type") ?? ""), json };
  }

  /** A JSON blob (an image config). */
  async blob(ref: ImageRef, digest: string): Promise<Record<string, unknown>> {
    const res = await this.request(ref, `blobs/${digest}`, {});
    return (await res.json()) as Record<string, unknown>;
  }

  /**
   * GET /v2/ (doctor): whether the registry answers, over which scheme, and whether it lets these
   * credentials in (a 401 after the challenge means they were refused, or none were given).
   */
  async ping(host: string): Promise<{ scheme: "http" | "https"; status?: number; error?: string }> {
    const ref: ImageRef = { host, path: "", tag: "latest" };
    const url = this.base(ref);
    const scheme = url.startsWith("http:") ? "http" : "https";
    const get = (auth?: string) =>
      this.fetch(url, { headers: auth ? { authorization: auth } : {}, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000), redirect: "follow" });
    try {
      let res = await get(this.basic(host));
      if (res.status === 401) {
        const token = await this.challenge(ref, res.headers.get("www-authenticate"), "");
        if (token) res = await get(token);
      }
      return { scheme, status: res.status };
    } catch (e) {
      return { scheme, error: (e as Error).message };
    }
  }

  private basic(host: string): string | undefined {
    const c = this.opts.credentials?.[host];
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` : basicAuth(host, this.opts.env);
  }

  private base(ref: ImageRef): string {
    const host = ref.host === "docker.io" ? "registry-1.docker.io" : ref.host;
    const plain = LOOPBACK.test(ref.host) || this.opts.insecureHosts?.includes(ref.host);
    return `${plain ? "http" : "https"}://${host}/v2/${ref.path}`;
  }

  private async request(ref: ImageRef, path: string, headers: Record<string, string>, attempt = 1): Promise<Response> {
    const url = `${this.base(ref)}/${path}`;
    const scope = `repository:${ref.path}:pull`;
    const auth = this.tokens.get(`${ref.host} ${scope}`) ?? this.basic(ref.host);
    let res: Response;
    try {
      res = await this.fetch(url, {
        headers: { ...headers, ...(auth ? { authorization: auth } : {}) },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
        redirect: "follow",
      });
    } catch (e) {
      if (attempt < 3) return this.request(ref, path, headers, attempt + 1);
      throw new RegistryError(`${ref.host}: ${(e as Error).message}`);
    }
    if (res.status === 401 && attempt === 1) {
      const token = await this.challenge(ref, res.headers.get("www-authenticate"), scope);
      if (token) {
        this.tokens.set(`${ref.host} ${scope}`, token);
        return this.request(ref, path, headers, attempt + 1);
      }
    }
    if ((res.status >= 500 || res.status === 429) && attempt < 3) {
      await new Promise((r) => setTimeout(r, 200 * attempt));
      return this.request(ref, path, headers, attempt + 1);
    }
    if (!res.ok) throw new RegistryError(`${ref.host}/${ref.path}: ${path.split("/")[0]} ${path.split("/")[1]}: HTTP ${res.status}`, res.status);
    return res;
  }

  /** Bearer: ask the realm for a pull token (with docker's stored credentials, if any). Basic: the stored ones. */
  private async challenge(ref: ImageRef, header: string | null, scope: string): Promise<string | undefined> {
    if (!header) return undefined;
    const basic = this.basic(ref.host);
    if (/^basic/i.test(header)) return basic;
    const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", params.scope ?? scope);
    const res = await this.fetch(url, { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }
}

/** docker's stored credentials for a host ("auths" in config.json), as a Basic header. */
export function basicAuth(host: string, env: Env): string | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker"), "config.json");
  try {
    const cfg = JSON.parse(readFileSync(file, "utf8")) as { auths?: Record<string, { auth?: string }> };
    const keys = host === "docker.io" ? ["https://index.docker.io/v1/", "docker.io", "index.docker.io"] : [host, `https://${host}`, `http://${host}`];
    const auth = keys.map((k) => cfg.auths?.[k]?.auth).find(Boolean);
    return auth ? `Basic ${auth}` : undefined;
  } catch {
    return undefined;
  }
}

async function sha256(text: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(text).digest("hex");
}
