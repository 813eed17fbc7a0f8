// Docker's client configuration, read as the docker CLI reads it: the folder ($DOCKER_CONFIG, else
// ~/.docker), and the credentials for a registry host from `credHelpers` (a helper per registry), else
// `credsStore` (one helper for all), else `auths` (base64 user:password, or an identity token). Every
// registry read and write, the run's private `docker manifest` folder, doctor and the builder probe
// find the folder here.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { runCommand } from "./runner.ts";

type Env = Readonly<Record<string, string | undefined>>;

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  experimental?: string;
  /** the context `docker context use` chose */
  currentContext?: string;
}

/** A password (or a token used as one), or an identity token: a refresh token for the registry's token service. */
export type Credential = { username: string; password: string } | { identityToken: string };

export interface CredentialLookup {
  credential?: Credential;
  /** Where they were looked for, for messages: never the secret. */
  where: string;
}

export class CredentialError extends Error {}

export const dockerConfigDir = (env: Env): string => env.DOCKER_CONFIG || join(env.HOME ?? homedir(), ".docker");
export const dockerConfigFile = (env: Env): string => join(dockerConfigDir(env), "config.json");

/** The parsed config.json; empty when there is none (docker's defaults). */
export function readDockerConfig(env: Env): DockerConfig {
  try {
    const config: unknown = JSON.parse(readFileSync(dockerConfigFile(env), "utf8"));
    // null (or any other non-object) reads as no settings, as in the docker CLI
    return config && typeof config === "object" ? (config as DockerConfig) : {};
  } catch {
    return {};
  }
}

/** docker.io's credentials are stored under its old index address; every other registry under its host. */
const serverAddress = (host: string) => (host === "docker.io" ? "https://index.docker.io/v1/" : host);
/** An auths key or server address as a bare host (scheme and path dropped), as docker compares them. */
const hostnameOf = (key: string) => key.replace(/^[a-z]+:\/\//i, "").split("/")[0]!;
const sameRegistry = (key: string, host: string) => {
  const h = hostnameOf(key);
  return h === host || (host === "docker.io" && (h === "index.docker.io" || h === "registry-1.docker.io"));
};

/** Whether docker already holds credentials for host (a stored auth or a helper for it). */
export function loggedIn(host: string, env: Env): boolean {
  const cfg = readDockerConfig(env);
  return Boolean(cfg.auths?.[host] || cfg.credHelpers?.[host]);
}

/** Which helper docker would ask for host, and the config key that names it. */
function helperFor(host: string, cfg: DockerConfig): { name: string; key: string } | undefined {
  const per = Object.entries(cfg.credHelpers ?? {}).find(([k]) => sameRegistry(k, host));
  if (per) return { name: per[1], key: `credHelpers["${per[0]}"]` };
  return cfg.credsStore ? { name: cfg.credsStore, key: "credsStore" } : undefined;
}

/**
 * The credentials docker would use for host. A helper that is missing or fails is a CredentialError whose
 * message names the registry and the helper (never what it printed: that may hold the secret).
 */
export async function lookupCredentials(host: string, env: Env): Promise<CredentialLookup> {
  const file = dockerConfigFile(env);
  const cfg = readDockerConfig(env);
  const helper = helperFor(host, cfg);
  if (helper) {
    const program = `docker-credential-${helper.name}`;
    const where = `${program} (${helper.key} in ${file})`;
    const r = await runCommand({ program, args: ["get"], input: serverAddress(host) }, { cwd: dockerConfigDir(env), env, timeoutMs: 30_000 });
    if (!r.ok) {
      // the helpers' own words for "nothing stored": docker then goes on without credentials
      if (r.reason === "exit" && /credentials not found/i.test(r.stdout + r.stderr)) return { where };
      const why = r.reason === "spawn" ? "is not on PATH" : `failed (${r.reason === "exit" ? `exit code ${r.exitCode}` : r.reason})`;
      throw new CredentialError(`credentials for ${host}: the credential helper ${program}, named by ${helper.key} in ${file}, ${why}`);
    }
    let answer: { Username?: string; Secret?: string };
    try {
      answer = JSON.parse(r.stdout) as typeof answer;
    } catch {
      throw new CredentialError(`credentials for ${host}: the credential helper ${program}, named by ${helper.key} in ${file}, did not answer with JSON`);
    }
    if (!answer.Secret) return { where };
    // docker's convention: the user name `<token>` marks an identity token
    const credential: Credential =
      answer.Username === "<token>" ? { identityToken: answer.Secret } : { username: answer.Username ?? "", password: answer.Secret };
    return { credential, where };
  }
  const key = cfg.auths?.[host] ? host : Object.keys(cfg.auths ?? {}).find((k) => sameRegistry(k, host));
  const entry = key ? cfg.auths![key]! : undefined;
  const where = key ? `auths["${key}"] in ${file}` : `${file} (no auths entry, credHelpers entry or credsStore for ${host})`;
  if (entry?.identitytoken) return { credential: { identityToken: entry.identitytoken }, where };
  if (entry?.auth) {
    const plain = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon > 0) return { credential: { username: plain.slice(0, colon), password: plain.slice(colon + 1) }, where };
  }
  if (entry?.username && entry.password) return { credential: { username: entry.username, password: entry.password }, where };
  return { where };
}
