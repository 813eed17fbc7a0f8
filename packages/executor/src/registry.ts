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
    /** The registry never answered, after the client's own attempts: each timed out, or the connection was refused. */
    readonly noAnswer?: "timeout" | "refused",
  ) {
    super(message);
  }
}

/** A request that has waited a while for its first answer (across its attempts): for a progress line. */
export interface RegistryWait {
  host: string;
  /** METHOD /v2/PATH */
  request: string;
  waitedMs: number;
  /** When the client gives up on it: its attempts' timeouts added up. */
  limitMs: number;
}

export interface RegistryClientOptions {
  env: Env;
  /** Hosts reached over plain HTTP besides loopback ones (registries marked insecure in the spec). */
  insecureHosts?: readonly string[];
  /** One request's wait for an answer (15 s if not given); MULTIARCH_REGISTRY_TIMEOUT (seconds, for tests) wins. */
  timeoutMs?: number;
  /** Told once a request has had no answer for WAIT_NOTICE_MS, once per host until that host answers. */
  onWait?: (wait: RegistryWait) => void;
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
const DEFAULT_TIMEOUT_MS = 15_000;
/** A request with no answer for this long is said (onWait): the user sees why nothing moves. */
const WAIT_NOTICE_MS = 5_000;
/** A connection refused, or a host or network unreachable: nobody answers at that address. */
const UNANSWERED_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);
/** The longest a Retry-After is obeyed; a registry asking for more is reported instead. */
const MAX_RETRY_AFTER_MS = 60_000;

export class RegistryClient {
  /** "host scope" -> the bearer token for it; "host basic" -> the Basic header a registry asked for */
  private readonly tokens = new Map<string, string>();
  private readonly lookups = new Map<string, Promise<CredentialLookup>>();
  private readonly fetch: Transport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly timeoutMs: number;
  /** Attempts' timeouts that have not fired yet (see signal). */
  private readonly timeouts = new Set<AbortSignal>();
  /** Hosts whose wait was said and that have not answered since. */
  private readonly waiting = new Set<string>();

  constructor(private readonly opts: RegistryClientOptions) {
    this.fetch = opts.fetch ?? httpTransport;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.timeoutMs = registryTimeoutMs(opts.env) ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
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

  /**
   * One request with authentication: a 401's challenge is answered once, 5xx/429/network errors retried.
   * A wait of WAIT_NOTICE_MS for an answer is told to onWait (not an upload's: its body takes time).
   */
  private async send(ref: ImageRef, op: Operation): Promise<{ res: TransportResponse; realm?: string }> {
    const url = op.url ?? (op.path ? `${this.base(ref)}/${op.path}` : this.base(ref));
    const timeoutMs = op.timeoutMs ?? this.timeoutMs;
    const onWait = op.timeoutMs === undefined ? this.opts.onWait : undefined;
    const notice = onWait
      ? setTimeout(() => {
          if (this.waiting.has(ref.host)) return;
          this.waiting.add(ref.host);
          onWait({ host: ref.host, request: `${op.method ?? "GET"} ${new URL(url).pathname}`, waitedMs: WAIT_NOTICE_MS, limitMs: timeoutMs * ATTEMPTS });
        }, WAIT_NOTICE_MS)
      : undefined;
    notice?.unref();
    try {
      const sent = await this.attempts(ref, op, url, timeoutMs);
      this.waiting.delete(ref.host);
      return sent;
    } finally {
      clearTimeout(notice);
    }
  }

  private async attempts(ref: ImageRef, op: Operation, url: string, timeoutMs: number): Promise<{ res: TransportResponse; realm?: string }> {
    const started = performance.now();
    let realm: string | undefined;
    let challenged = false;
    // credentials go to the registry alone: an upload Location on another host (or scheme) gets none
    const own = new URL(url).origin === new URL(this.base(ref)).origin;
    for (let attempt = 1; ; attempt++) {
      // no credentials before a challenge asks for them: public images never consult a helper
      const auth = own ? (this.tokens.get(`${ref.host} ${op.scope}`) ?? this.tokens.get(`${ref.host} basic`)) : undefined;
      let res: TransportResponse;
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
        // a timeout said as one, with the request and the whole wait (node says "The operation was aborted")
        const timedOut = !this.opts.signal?.aborted && ((e as Error).name === "TimeoutError" || (e as Error).name === "AbortError");
        const refused = !this.opts.signal?.aborted && UNANSWERED_CODES.has((e as NodeJS.ErrnoException).code ?? "");
        if (!timedOut) throw new RegistryError(`${ref.host}: ${(e as Error).message}`, undefined, refused ? "refused" : undefined);
        const where = `${ref.host}${ref.path ? `/${ref.path}` : ""}`;
        const waited = `no answer in ${seconds(performance.now() - started)} in all (${ATTEMPTS} attempts of ${seconds(timeoutMs)})`;
        throw new RegistryError(`${where}: ${op.method ?? "GET"} ${op.path || "/v2/"}: ${waited}`, undefined, "timeout");
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

  /**
   * An attempt's timeout, and the client's signal. The timeout is held here until it fires: AbortSignal.any
   * holds it weakly, and one collected never fires (nodejs/node#57736): a silent registry was waited on for ever.
   */
  private signal(timeoutMs: number): AbortSignal {
    const timeout = AbortSignal.timeout(timeoutMs);
    if (!this.opts.signal) return timeout;
    this.timeouts.add(timeout);
    timeout.addEventListener("abort", () => this.timeouts.delete(timeout), { once: true });
    return AbortSignal.any([timeout, this.opts.signal]);
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
    const signal = AbortSignal.timeout(this.timeoutMs);
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

const seconds = (ms: number) => `${ms >= 10_000 ? Math.round(ms / 1000) : Number((ms / 1000).toPrecision(2))} s`;

/** MULTIARCH_REGISTRY_TIMEOUT: the seconds each request waits for an answer, when set to a number above 0 (tests shorten it). */
function registryTimeoutMs(env: Env): number | undefined {
  const s = Number(env.MULTIARCH_REGISTRY_TIMEOUT);
  return env.MULTIARCH_REGISTRY_TIMEOUT && Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
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
