// The one reference parser: registry URLs, repositories and tags, after the distribution/reference
// grammar (and the OCI distribution-spec's explicit ASCII classes).

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?$`);
export const MAX_REPOSITORY_LENGTH = 255;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string };

export interface RegistryUrl {
  /** host[:port] as written (lowercase hosts are the norm; port kept). */
  host: string;
  /** Path under the host, e.g. "acme" or "team/sub"; "" when none. */
  namespace: string;
}

export function parseRegistryUrl(url: string): Checked<RegistryUrl> {
  // Never echo a URL that carries credentials: the message would print them.
  if (/^([a-z]+:\/\/)?[^/]*@/i.test(url)) {
    return {
      ok: false,
      message: "the registry URL contains credentials (user:password@)",
      hint: "remove them from the URL; give username: { env: … } and password: { env: … } instead",
    };
  }
  if (/^[a-z]+:\/\//i.test(url)) {
    return { ok: false, message: `"${url}" has a scheme`, hint: `write it without one: ${url.replace(/^[a-z]+:\/\//i, "")}` };
  }
  const [host = "", ...rest] = url.replace(/\/+$/, "").split("/");
  if (host.includes("%")) return { ok: false, message: `"${url}": zone ids are not allowed in IPv6 hosts` };
  if (!HOST_RE.test(host)) {
    const hint = /^[0-9a-f:]+$/i.test(host) && host.includes("::") ? "write IPv6 hosts in brackets: [::1]:5000" : undefined;
    return hint ? { ok: false, message: `"${host}" is not a valid registry host`, hint } : { ok: false, message: `"${host}" is not a valid registry host` };
  }
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    return { ok: false, message: `port ${port} is out of range`, hint: "a port is 1-65535, e.g. 127.0.0.1:5000" };
  if (!host.includes(".") && !host.includes(":") && host !== "localhost") {
    return {
      ok: false,
      message: `"${url}" does not start with a registry host: "${host}" would silently mean a Docker Hub namespace`,
      hint: `write docker.io/${url} for Docker Hub, or give the host with a dot or port, e.g. ${host}.example.com or ${host}:5000`,
    };
  }
  const namespace = rest.join("/");
  if (namespace !== "" && !PATH_RE.test(namespace)) {
    return namespace !== namespace.toLowerCase()
      ? { ok: false, message: `namespace "${namespace}" must be lowercase`, hint: `write ${namespace.toLowerCase()}` }
      : { ok: false, message: `namespace "${namespace}" is not a valid repository path` };
  }
  return { ok: true, value: { host, namespace } };
}

export function checkRepositoryPath(path: string): Checked<string> {
  if (path.length > MAX_REPOSITORY_LENGTH) {
    return { ok: false, message: `repository name is ${path.length} characters; at most ${MAX_REPOSITORY_LENGTH} are allowed` };
  }
  if (!PATH_RE.test(path)) {
    if (path !== path.toLowerCase() && PATH_RE.test(path.toLowerCase())) {
      return { ok: false, message: `repository "${path}" must be lowercase`, hint: `write ${path.toLowerCase()}` };
    }
    return { ok: false, message: `"${path}" is not a valid repository name`, hint: "use lowercase letters, digits and . _ - separators" };
  }
  return { ok: true, value: path };
}

export function checkTag(tag: string): Checked<string> {
  if (tag === "") return { ok: false, message: "tag is empty", hint: "a template rendered to nothing; give it a default" };
  if (tag.length > 128) return { ok: false, message: `tag is ${tag.length} characters; at most 128 are allowed` };
  if (!TAG_RE.test(tag)) {
    // a space is said in words: shown, it is nothing; the others quoted, so "spaces !" does not read as one
    const bad = [...new Set(tag.replace(/[A-Za-z0-9._-]/g, ""))].map((c) => (c === " " ? "spaces" : c === "\t" ? "tabs" : `"${c}"`)).join(", ");
    const hint = bad ? `tags may not contain ${bad}; the sanitize helper replaces them: {{sanitize git.branch}}` : "a tag may not start with . or -";
    return { ok: false, message: `"${tag}" is not a valid tag`, hint };
  }
  return { ok: true, value: tag };
}

/** host/namespace/repository, the name part of a reference. */
export function repositoryRef(registry: RegistryUrl, repository: string): string {
  return [registry.host, registry.namespace, repository].filter((s) => s !== "").join("/");
}

/** Checks the full name (host + path) against the 255-character limit clients impose. */
export function checkFullName(name: string): Checked<string> {
  return name.length > MAX_REPOSITORY_LENGTH
    ? { ok: false, message: `"${name.slice(0, 40)}…" is ${name.length} characters; registries accept at most ${MAX_REPOSITORY_LENGTH}` }
    : { ok: true, value: name };
}

export interface ImageRef {
  /** Registry host as clients address it (docker.io for Docker Hub). */
  host: string;
  /** Repository path, with library/ for Docker Hub's official images. */
  path: string;
  tag?: string;
  digest?: string;
}

/** A reference as written, split: the name (host/path, not normalised), then the tag and the digest if any. */
function splitRef(ref: string): { name: string; tag?: string; digest?: string } {
  const at = ref.indexOf("@");
  const digest = at === -1 ? undefined : ref.slice(at + 1);
  const rest = at === -1 ? ref : ref.slice(0, at);
  // the tag's colon is after the last slash; a registry port's is before it
  const colon = rest.lastIndexOf(":");
  const tagged = colon > rest.lastIndexOf("/");
  const name = tagged ? rest.slice(0, colon) : rest;
  return { name, ...(tagged ? { tag: rest.slice(colon + 1) } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The name of a reference as written (host/path, no tag or digest): name:tag -> name. */
export const referenceName = (ref: string): string => splitRef(ref).name;

/** The image a reference names, by digest: name:tag + sha256:… -> name@sha256:… */
export const byDigest = (ref: string, digest: string): string => `${referenceName(ref)}@${digest}`;

/**
 * A pullable reference as docker normalises it: `alpine` -> docker.io/library/alpine:latest, a first
 * component with a dot, a colon or `localhost` is a registry host.
 */
export function parseImageRef(ref: string): Checked<ImageRef> {
  const { name, tag, digest } = splitRef(ref);
  if (digest !== undefined && !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) return { ok: false, message: `"${ref}": invalid digest` };
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const hasHost = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost");
  const host = hasHost ? first : "docker.io";
  let path = hasHost ? name.slice(slash + 1) : name;
  if (host === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (!PATH_RE.test(path) || (hasHost && !HOST_RE.test(host))) return { ok: false, message: `"${ref}" is not a valid image reference` };
  if (tag !== undefined && !TAG_RE.test(tag)) return { ok: false, message: `"${ref}": invalid tag` };
  return { ok: true, value: { host, path, ...(digest ? { digest } : { tag: tag ?? "latest" }), ...(digest && tag ? { tag } : {}) } };
}

export const OCI_LAYOUT = "oci-layout://";

/** The folder of an OCI layout context, oci-layout://PATH[:TAG][@DIGEST]: PATH (a colon in a folder's name stays). */
export function ociLayoutFolder(ref: string): string {
  const rest = ref.slice(OCI_LAYOUT.length).split("@")[0]!;
  const colon = rest.lastIndexOf(":");
  return colon > rest.lastIndexOf("/") ? rest.slice(0, colon) : rest;
}

/** A content digest as OCI writes them (sha256 or sha512, lowercase hex); parseImageRef takes any algorithm:encoded. */
export const isContentDigest = (digest: string): boolean => /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(digest);
