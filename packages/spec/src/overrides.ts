// --set IMAGE.KEY=VALUE (validate, plan, apply), modelled on bake's --set target.key=value: a value that
// replaces what the spec says for one image (or every image: *), applied to each image after its
// matrix is expanded and before the image rules run, so an override is checked like the spec's own text.

import { didYouMean } from "@multiarch/plan";
import { type Diagnostic, diag } from "./diagnostics.ts";
import { FORBIDDEN_KEYS } from "./fast-yaml.ts";
import type { ImageInput } from "./schema.ts";

type Fields = Pick<ImageInput, "tags" | "platforms" | "args" | "labels" | "annotations" | "cache" | "attest">;
type CacheIn = NonNullable<ImageInput["cache"]>;
type AttestIn = NonNullable<ImageInput["attest"]>;

export interface Override {
  /** As given on the command line. */
  text: string;
  /** An image name (after matrix expansion), or * for every image. */
  image: string;
  /** What it sets inside the image, e.g. ["args", "NODE_ENV"], ["cache"]: problems found there are the override's. */
  path: string[];
  /** What it merges into the image: one arg/label/annotation, tags, platforms, a part of cache or attest. */
  value: Partial<Omit<Fields, "cache" | "attest">> & { cache?: Partial<CacheIn>; attest?: Partial<AttestIn> };
}

const KEYS = [
  "args.NAME",
  "labels.NAME",
  "annotations.NAME",
  "tags",
  "platforms",
  "cache.type",
  "cache.mode",
  "cache.registry",
  "cache.dir",
  "cache.shared",
  "cache.ignoreError",
  "attest.provenance",
  "attest.sbom",
];
const list = (v: string) =>
  v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** Parses each --set; a malformed one is an error (code set-invalid) that names the keys. */
export function parseSets(sets: readonly string[], file: string): { overrides: Override[]; errors: Diagnostic[] } {
  const overrides: Override[] = [];
  const errors: Diagnostic[] = [];
  const at = { file, line: 0, col: 0 };
  for (const text of sets) {
    const fail = (message: string, hint?: string) => errors.push(diag("set-invalid", at, `--set ${text}: ${message}`, { hint }));
    const eq = text.indexOf("=");
    const dot = text.indexOf(".");
    if (eq === -1 || dot === -1 || dot > eq) {
      fail("expected IMAGE.KEY=VALUE", "e.g. --set api.args.NODE_ENV=staging, or --set '*.platforms=linux/amd64' for every image");
      continue;
    }
    const image = text.slice(0, dot);
    const key = text.slice(dot + 1, eq);
    const value = text.slice(eq + 1);
    const o = overrideOf(image, key, value, text);
    if (typeof o === "string") fail(o, o.startsWith("unknown key") ? (didYouMean(key, KEYS) ?? `keys: ${KEYS.join(", ")}`) : undefined);
    else overrides.push(o);
  }
  return { overrides, errors };
}

const BOOL: Record<string, boolean> = { true: true, false: false };

function overrideOf(image: string, key: string, value: string, text: string): Override | string {
  const [head, ...rest] = key.split(".");
  const name = rest.join(".");
  const one = (field: keyof Fields, v: Override["value"], sub?: string): Override => ({ text, image, path: sub ? [field, sub] : [field], value: v });
  switch (head) {
    case "args":
    case "labels":
    case "annotations":
      if (!name) return `name the ${head.slice(0, -1)}: ${image}.${head}.NAME=VALUE`;
      // as in the file: a key that could reach objects' prototypes is refused, not dropped
      if (FORBIDDEN_KEYS.has(name)) return `${name} may not be a key`;
      return one(head, { [head]: { [name]: value } }, name);
    case "tags":
      if (rest.length) break;
      return list(value).length ? one("tags", { tags: list(value) }) : "list at least one tag (comma-separated)";
    case "platform":
    case "platforms":
      if (rest.length) break;
      return list(value).length ? one("platforms", { platforms: list(value) }) : "list at least one platform (comma-separated)";
    case "cache": {
      const enums: Record<string, string[]> = { type: ["registry", "local", "gha"], mode: ["min", "max"] };
      if (name in enums)
        return enums[name]!.includes(value) ? one("cache", { cache: { [name]: value } }) : `cache.${name} is one of ${enums[name]!.join(", ")}`;
      if (name === "registry" || name === "dir") return value ? one("cache", { cache: { [name]: value } }) : `cache.${name} needs a value`;
      if (name === "shared" || name === "ignoreError")
        return value in BOOL ? one("cache", { cache: { [name]: BOOL[value] } }) : `cache.${name} is true or false`;
      break;
    }
    case "attest":
      if (name === "provenance")
        return ["min", "max", "false"].includes(value)
          ? one("attest", { attest: { provenance: value === "false" ? false : (value as "min" | "max") } })
          : "attest.provenance is min, max or false";
      if (name === "sbom") return value in BOOL ? one("attest", { attest: { sbom: BOOL[value]! } }) : "attest.sbom is true or false";
      break;
  }
  return `unknown key "${key}"`;
}

/**
 * The image as the overrides for `name` leave it; `defaults` fill cache and attest before a part of
 * them is replaced. `set`: the overrides that applied, for the problems found in what they set.
 */
export function applyOverrides(
  img: ImageInput,
  name: string,
  overrides: readonly Override[],
  defaults: Pick<ImageInput, "cache" | "attest">,
): { img: ImageInput; set: Override[] } {
  const mine = overrides.filter((o) => o.image === "*" || o.image === name);
  let out: ImageInput = img;
  for (const { value } of mine) {
    out = { ...out };
    for (const f of ["args", "labels", "annotations"] as const) if (value[f]) out[f] = { ...out[f], ...value[f] };
    if (value.tags) out.tags = value.tags;
    if (value.platforms) out.platforms = value.platforms;
    // a part of cache or attest: the rest is what the image (or the defaults) already says
    if (value.cache) out.cache = { ...(out.cache ?? defaults.cache), ...value.cache } as CacheIn;
    if (value.attest) out.attest = { ...(out.attest ?? defaults.attest), ...value.attest };
  }
  return { img: out, set: mine };
}
