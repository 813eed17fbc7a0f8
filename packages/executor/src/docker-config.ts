// What docker's own configuration already says: stored credentials for a registry host.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

/** Whether docker already holds credentials for host (a credential helper or a stored auth). */
export function loggedIn(host: string, env: Env): boolean {
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker"), "config.json");
  try {
    const cfg = JSON.parse(readFileSync(file, "utf8")) as { auths?: Record<string, unknown>; credHelpers?: Record<string, string> };
    return Boolean(cfg.auths?.[host] || cfg.credHelpers?.[host]);
  } catch {
    return false;
  }
}
