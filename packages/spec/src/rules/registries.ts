// registries: names, URLs (host, port, namespace; never credentials in them), credential pairs.

import { parseRegistryUrl } from "@multiarch/plan";
import type { Registry } from "../model.ts";
import { type RuleContext, report, structural } from "./context.ts";

export const NAME_RE = /^[a-z0-9][a-z0-9_-]*$/;

export function registryRules(ctx: RuleContext): Registry[] {
  const registries: Registry[] = [];
  for (const [name, r] of Object.entries(ctx.input.registries ?? {})) {
    if (!NAME_RE.test(name)) report(ctx, "invalid-value", ["registries", name], `registry name "${name}" must match [a-z0-9][a-z0-9_-]*`, undefined, true);
    const text = structural(ctx, r.url, ["registries", name, "url"]);
    const url = text === undefined ? undefined : parseRegistryUrl(text);
    if (url && !url.ok) {
      report(ctx, "registry-url-invalid", ["registries", name, "url"], `${url.message}${text !== r.url ? ` (from "${r.url}")` : ""}`, url.hint);
      continue;
    }
    const reg: Registry = {
      name,
      // a URL from a variable without a value (validate --static): checked where it is known
      url: text ?? r.url,
      host: url?.value.host ?? "",
      namespace: url?.value.namespace ?? "",
      insecure: r.insecure ?? false,
      at: ctx.map.keyAt(["registries", name]),
    };
    if (r.username) reg.username = r.username;
    if (r.password) reg.password = r.password;
    if (Boolean(r.username) !== Boolean(r.password)) {
      report(ctx, "missing-key", ["registries", name], `registry ${name}: give both username and password, or neither`, undefined, true);
    }
    registries.push(reg);
  }
  return registries;
}
