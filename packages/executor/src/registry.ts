// The one registry client: reads manifests and blobs over the distribution HTTP API, in-process, with
// kept-alive connections (http-transport.ts), the credentials docker would use (docker-config.ts:
// auths, credsStore, credHelpers), both challenges registries answer with (Basic, and Bearer: a token
// for a scope from the realm), and retries for the 5xx/429 answers registries give under load, waiting as
// long as a 429's Retry-After asks. Plain HTTP only for loopback hosts and registries the spec marks
// insecure. Every request names its scope (repository:NAME:ACTIONS) and method, so pushing blobs and
// manifests by digest (with cross-repository mounts) is one more caller of `send`.
import type { ImageRef } from "@multiarch/plan";
import { sha256, valueRef } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import { type Credential, type CredentialLookup, lookupCredentials } from "./docker-config.ts";
import { httpTransport, type Transport, type TransportResponse } from "./http-transport.ts";
import { resolveRef } from "./runner.ts";

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
  /** Its length in bytes, as an index's descriptor of it says. */
  size: number;
  json: Record<string, unknown>;
  /** As the registry stores them: what its digest is of (a copy must put these very bytes). */
  bytes: Uint8Array;
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
  /** Stops every request (a run interrupted while pushing). */
  signal?: AbortSignal;
  /** For tests: a transport (fetch itself will do) instead of node's http. */
  fetch?: Transport;
  /** For tests: how the client waits before a retry. */
  sleep?: (ms: number) => Promise<void>;
}

/** One request: a path under /v2/NAME/ (or the absolute URL an upload continues at), and the scopes a token for it must grant (space-separated). */
interface Operation {
  path: string;
  url?: string;
  scope: string;
  method?: string;
  headers?: Record<string, string>;
  /** A fresh body for each attempt (a stream cannot be sent twice). */
  body?: () => Uint8Array | AsyncIterable<Uint8Array>;
  timeoutMs?: number;
}

/** A blob upload may take long; one request of any other kind should not. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;
const ATTEMPTS = 3;
/** The longest a Retry-After is obeyed; a registry asking for more is reported instead. */
const MAX_RETRY_AFTER_MS = 60_000;

export class RegistryClient {
  /** "host scope" -> the bearer token for it; "host basic" -> the Basic header a registry asked for */
  private readonly tokens = new Map<string, string>();
  private readonly lookups = new Map<string, Promise<CredentialLookup>>();
  private readonly fetch: Transport;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: RegistryClientOptions) {
    this.fetch = opts.fetch ?? httpTransport;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The manifest (index or image) a reference names, with its digest. */
  async manifest(ref: ImageRef): Promise<ManifestResponse> {
    const res = await this.request(ref, {
      path: `manifests/${ref.digest ?? ref.tag ?? "latest"}`,
      scope: pull(ref),
      headers: { accept: INDEX_TYPES.join(", ") },
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    const digest = res.headers.get("docker-content-digest") ?? `sha256:${sha256(bytes)}`;
    return { digest, mediaType: String(json.mediaType ?? res.headers.get("content-type") ?? ""), size: bytes.length, json, bytes };
  }

  /** A JSON blob (an image config). */
  async blob(ref: ImageRef, digest: string): Promise<Record<string, unknown>> {
    const res = await this.request(ref, { path: `blobs/${digest}`, scope: pull(ref) });
    return (await res.json()) as Record<string, unknown>;
  }

  /** A blob's bytes, streamed (a layer copied to another registry): each call is a new GET. */
  async *openBlob(ref: ImageRef, digest: string): AsyncIterable<Uint8Array> {
    const res = await this.request(ref, { path: `blobs/${digest}`, scope: pull(ref), timeoutMs: UPLOAD_TIMEOUT_MS });
    if (res.body) yield* res.body;
  }

  /** Whether the repository holds the blob (HEAD; a 404 is no). */
  async hasBlob(ref: ImageRef, digest: string): Promise<boolean> {
    const { res } = await this.send(ref, { path: `blobs/${digest}`, scope: push(ref), method: "HEAD" });
    await res.body?.cancel();
    if (res.status === 404) return false;
    if (res.ok) return true;
    return this.fail(ref, { path: `blobs/${digest}`, scope: push(ref) }, res);
  }

  /**
   * Puts a blob into the repository: mounted from `from` (another repository of this registry that holds
   * it) when given and the registry agrees, else uploaded in one PUT of `open()`'s bytes (streamed).
   * Returns how it got there.
   */
  async pushBlob(ref: ImageRef, digest: string, size: number, open: () => AsyncIterable<Uint8Array>, from?: string): Promise<"mounted" | "uploaded"> {
    const query = from ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : "";
    const scope = from ? `${push(ref)} repository:${from}:pull` : push(ref);
    const start = await this.request(ref, { path: `blobs/uploads/${query}`, scope, method: "POST" });
    await start.body?.cancel();
    if (start.status === 201) return "mounted";
    const location = start.headers.get("location");
    if (!location) throw new RegistryError(`${ref.host}/${ref.path}: the registry started an upload without a Location`);
    const url = new URL(location, this.base(ref));
    url.searchParams.set("digest", digest);
    const put = await this.request(ref, {
      path: "blobs/uploads/",
      url: url.toString(),
      scope: push(ref),
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      body: open,
      timeoutMs: UPLOAD_TIMEOUT_MS,
    });
    await put.body?.cancel();
    return "uploaded";
  }

  /** PUTs a manifest (or index) under its digest (no tag moves), or under `tag`. */
  async putManifest(ref: ImageRef, digest: string, mediaType: string, bytes: Uint8Array, tag?: string): Promise<void> {
    const res = await this.request(ref, {
      path: `manifests/${tag ?? digest}`,
      scope: push(ref),
      method: "PUT",
      headers: { "content-type": mediaType },
      body: () => bytes,
    });
    await res.body?.cancel();
    const stored = res.headers.get("docker-content-digest");
    if (stored && stored !== digest) throw new RegistryError(`${ref.host}/${ref.path}: the registry stored ${digest} as ${stored}`);
  }

  /** DELETEs a manifest by digest, and with it the tags that hold it; a registry may refuse (405: deletion is off). */
  async deleteManifest(ref: ImageRef, digest: string): Promise<void> {
    const res = await this.request(ref, { path: `manifests/${digest}`, scope: `repository:${ref.path}:delete`, method: "DELETE" });
    await res.body?.cancel();
  }

  /**
   * GET /v2/ (doctor): whether the registry answers, over which scheme, and whether it lets these
   * credentials in (a 401 after the challenge means they were refused, or none were given).
   */
  async ping(host: string): Promise<{ scheme: "http" | "https"; status?: number; error?: string }> {
    const ref: ImageRef = { host, path: "", tag: "latest" };
    const scheme = this.base(ref).startsWith("http:") ? "http" : "https";
    try {
      const { res } = await this.send(ref, { path: "", scope: "" });
      // the body is not read: cancelled, or the connection stays busy until the caller's timeout (5 s of doctor)
      await res.body?.cancel();
      return { scheme, status: res.status };
    } catch (e) {
      return { scheme, error: (e as Error).message };
    }
  }

  private base(ref: ImageRef): string {
    const host = ref.host === "docker.io" ? "registry-1.docker.io" : ref.host;
    const plain = LOOPBACK.test(ref.host) || this.opts.insecureHosts?.includes(ref.host);
    return `${plain ? "http" : "https"}://${host}/v2/${ref.path}`;
  }

  /** send, and a RegistryError for any answer but 2xx: a 401 or 403 says where credentials were looked for (and a 401 its realm). */
  private async request(ref: ImageRef, op: Operation): Promise<TransportResponse> {
    const { res, realm } = await this.send(ref, op);
    if (res.ok) return res;
    await res.body?.cancel();
    return this.fail(ref, op, res, realm);
  }

  private async fail(ref: ImageRef, op: Operation, res: TransportResponse, realm?: string): Promise<never> {
    const what = `${ref.host}/${ref.path}: ${op.path.replace("/", " ")}: HTTP ${res.status}`;
    if (res.status !== 401 && res.status !== 403) throw new RegistryError(what, res.status);
    const lookup = await this.lookup(ref.host);
    // a 403 is an identity known and not allowed this; a 401, one not accepted (a 403 names no realm)
    const creds = !lookup.credential
      ? `no credentials found in ${lookup.where}`
      : `the credentials from ${lookup.where} ${res.status === 403 ? "do not allow this" : "were refused"}`;
    throw new RegistryError(`${what}${realm ? ` (realm ${realm})` : ""}: ${creds}`, res.status);
  }

  /** One request with authentication: a 401's challenge is answered once, 5xx/429/network errors retried. */
  private async send(ref: ImageRef, op: Operation): Promise<{ res: TransportResponse; realm?: string }> {
    const url = op.url ?? (op.path ? `${this.base(ref)}/${op.path}` : this.base(ref));
    let realm: string | undefined;
    let challenged = false;
    // credentials go to the registry alone: an upload Location on another host (or scheme) gets none
    const own = new URL(url).origin === new URL(this.base(ref)).origin;
    for (let attempt = 1; ; attempt++) {
      // no credentials before a challenge asks for them: public images never consult a helper
      const auth = own ? (this.tokens.get(`${ref.host} ${op.scope}`) ?? this.tokens.get(`${ref.host} basic`)) : undefined;
      let res: TransportResponse;
      const timeoutMs = op.timeoutMs ?? this.opts.timeoutMs ?? 15_000;
      try {
        res = await this.fetch(url, {
          method: op.method ?? "GET",
          headers: { ...op.headers, ...(auth ? { authorization: auth } : {}) },
          signal: this.signal(timeoutMs),
          // a fresh body per attempt
          ...(op.body ? { body: op.body() } : {}),
        });
      } catch (e) {
        if (attempt < ATTEMPTS && !this.opts.signal?.aborted) continue;
        // a timeout said as one, with the request (node says "The operation was aborted")
        const timedOut = !this.opts.signal?.aborted && ((e as Error).name === "TimeoutError" || (e as Error).name === "AbortError");
        const what = timedOut
          ? `${op.method ?? "GET"} ${op.path || "/v2/"}: no answer within ${timeoutMs / 1000} s (${ATTEMPTS} attempts)`
          : (e as Error).message;
        throw new RegistryError(`${ref.host}: ${what}`);
      }
      if (res.status === 401 && !challenged && own) {
        challenged = true;
        const header = res.headers.get("www-authenticate") ?? "";
        realm = param(header, "realm");
        await res.body?.cancel();
        const answer = await this.challenge(ref.host, header, op.scope);
        if (answer) {
          this.tokens.set(`${ref.host} ${answer.startsWith("Basic") ? "basic" : op.scope}`, answer);
          attempt--;
          continue;
        }
      }
      if ((res.status >= 500 || res.status === 429) && attempt < ATTEMPTS) {
        const wait = retryDelayMs(res.headers.get("retry-after"), attempt);
        if (wait <= MAX_RETRY_AFTER_MS) {
          await res.body?.cancel();
          await this.sleep(wait);
          continue;
        }
      }
      return { res, ...(realm ? { realm } : {}) };
    }
  }

  private signal(timeoutMs: number): AbortSignal {
    const timeout = AbortSignal.timeout(timeoutMs);
    return this.opts.signal ? AbortSignal.any([timeout, this.opts.signal]) : timeout;
  }

  private lookup(host: string): Promise<CredentialLookup> {
    const given = this.opts.credentials?.[host];
    if (given) return Promise.resolve({ credential: given, where: "the spec's registry credentials" });
    let p = this.lookups.get(host);
    if (!p) {
      p = lookupCredentials(host, this.opts.env);
      this.lookups.set(host, p);
    }
    return p;
  }

  /** The Basic header for host's user and password, if docker holds them (identity tokens only buy bearer tokens). */
  private async basic(host: string): Promise<string | undefined> {
    const c = (await this.lookup(host)).credential;
    return c && "password" in c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` : undefined;
  }

  /**
   * The Authorization header a challenge asks for: Basic with docker's credentials, or Bearer with a token
   * the realm issues for the scope (anonymously when docker holds none: public images).
   */
  private async challenge(host: string, header: string, scope: string): Promise<string | undefined> {
    if (/^basic/i.test(header)) return this.basic(host);
    const realm = param(header, "realm");
    if (!/^bearer/i.test(header) || !realm) return undefined;
    const service = param(header, "service");
    const wanted = scope || param(header, "scope") || "";
    const lookup = await this.lookup(host);
    const credential = lookup.credential;
    const res = await this.tokenRequest(realm, service, wanted, credential);
    if (!res.ok) {
      await res.body?.cancel();
      // whose: the spec's (given first) or docker's, as the lookup found them
      const who = credential ? `the credentials from ${lookup.where}` : "an anonymous request";
      throw new RegistryError(`${host}: the token service ${realm} refused ${who} for ${wanted || "access"}: HTTP ${res.status}`, res.status);
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }

  /** An identity token is exchanged with an OAuth2 POST (as docker does); a password is sent as Basic on a GET. */
  private tokenRequest(realm: string, service: string | undefined, scope: string, credential: Credential | undefined): Promise<TransportResponse> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs ?? 15_000);
    if (credential && "identityToken" in credential) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credential.identityToken, client_id: "multiarch" });
      if (service) form.set("service", service);
      if (scope) form.set("scope", scope);
      return this.fetch(realm, { method: "POST", body: form, signal });
    }
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    for (const one of scope.split(" ").filter(Boolean)) url.searchParams.append("scope", one);
    const headers: Record<string, string> = credential
      ? { authorization: `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}` }
      : {};
    return this.fetch(url, { headers, signal });
  }
}

const pull = (ref: ImageRef) => `repository:${ref.path}:pull`;
const push = (ref: ImageRef) => `repository:${ref.path}:pull,push`;
const param = (header: string, name: string): string | undefined => new RegExp(`${name}="([^"]*)"`, "i").exec(header)?.[1];

/** How long to wait before try attempt + 1: a Retry-After (seconds or an HTTP date) if given, else a short backoff. */
export function retryDelayMs(retryAfter: string | null, attempt: number, now: number = Date.now()): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return 200 * attempt;
}

/**
 * The credentials a spec names for its registries (username and password from env or file), by host,
 * for the registries whose both values can be read here; the rest are "unset" (or "none" when the spec
 * names none, and docker's own credentials apply).
 */
export function specCredentials(
  spec: Pick<Spec, "registries" | "dir">,
  env: Readonly<Record<string, string | undefined>>,
): { byHost: Record<string, { username: string; password: string }>; state: Record<string, "none" | "present" | "unset"> } {
  const byHost: Record<string, { username: string; password: string }> = {};
  const state: Record<string, "none" | "present" | "unset"> = {};
  const value = (ref: NonNullable<Spec["registries"][number]["username"]>) => {
    try {
      return resolveRef(valueRef(ref), { cwd: spec.dir, env });
    } catch {
      return undefined;
    }
  };
  for (const r of spec.registries) {
    if (!r.username || !r.password) {
      state[r.name] = "none";
      continue;
    }
    const user = value(r.username);
    const pass = value(r.password);
    state[r.name] = user !== undefined && pass !== undefined ? "present" : "unset";
    if (user !== undefined && pass !== undefined) byHost[r.host] = { username: user, password: pass };
  }
  return { byHost, state };
}
