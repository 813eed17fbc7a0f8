// Turns zod issues into diagnostics at the YAML position of the offending value, with hints.

import { closest, didYouMean } from "@multiarch/plan";
import type { z } from "zod";
import { type Diagnostic, diag } from "./diagnostics.ts";
import { allowedKeysAt } from "./schema-paths.ts";
import type { Path, SourceMap } from "./source-map.ts";

const TEMPLATE_PARENTS = new Set(["tags", "args", "labels", "annotations"]);
const describe = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : typeof v);

function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const seg of path) v = v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[seg] : undefined;
  return v;
}

const MERGE_HINT = "YAML merge keys (<<) are not supported: write the keys out, or put shared values under defaults:";

/** A number or boolean where text was meant: unquoted, YAML reads 1.0 as the number 1 and yes/true as booleans. */
const unquoted = (value: unknown): { got: string; hint: string } | undefined =>
  typeof value === "number" || typeof value === "boolean"
    ? { got: `the ${typeof value} ${String(value)}`, hint: `quote it ("…"): unquoted, YAML reads it as the ${typeof value} ${String(value)}` }
    : undefined;

/** A value as a message shows it: a number or boolean by its type, text quoted, else its kind. */
const shown = (value: unknown): string => unquoted(value)?.got ?? (typeof value === "string" ? `"${value}"` : describe(value));

/** A required key that is not there, said at its parent's key. */
const missingKey = (map: SourceMap, path: Path, hint?: string): Diagnostic =>
  diag(
    "missing-key",
    map.keyAt(path.slice(0, -1)),
    `missing required key "${String(path.at(-1))}"${path.length > 1 ? ` in ${path.slice(0, -1).join(".")}` : ""}`,
    {
      ...(hint ? { hint } : {}),
      path: [...path],
    },
  );

const expectedOf = (t: string): string =>
  t === "record" || t === "object"
    ? "a mapping"
    : t === "array"
      ? "a list"
      : t === "string"
        ? "a string"
        : t === "number"
          ? "a number"
          : t === "boolean"
            ? "true or false"
            : t;

/**
 * yes, no, on, off: words YAML 1.1 read as booleans, and YAML 1.2 (this file's) reads as text; `allows`
 * says whether the boolean they meant may be written here.
 */
function yamlWord(value: unknown, allows: (b: boolean) => boolean = () => true): string | undefined {
  if (typeof value !== "string" || !/^(y|yes|n|no|on|off)$/i.test(value)) return undefined;
  const meant = /^(y|yes|on)$/i.test(value);
  return `YAML 1.2 reads ${value} as text${allows(meant) ? `: write ${meant} for a yes/no value` : ", not as a boolean"}`;
}

/** What to write instead, for a value of the wrong type. */
function typeHint(expected: string, value: unknown, path: Path): string | undefined {
  if (expected === "boolean" && typeof value === "string")
    return yamlWord(value) ?? (/^(true|false)$/i.test(value) ? `write ${value.toLowerCase()} unquoted: quoted, YAML reads it as text` : undefined);
  if (expected === "number" && typeof value === "string" && /^\d+$/.test(value)) return `write ${value} unquoted: quoted, YAML reads it as text`;
  if (expected === "array" && (typeof value === "number" || typeof value === "boolean")) return `write a list: [${String(value)}]`;
  if (expected === "array" && typeof value === "string") {
    // a command's words are a list of their own: run: uname -m is [uname, -m]
    const words = value.trim().split(/\s+/);
    return path.at(-1) === "run" && words.length > 1
      ? `write a list of the command's words: [${words.join(", ")}], or [/bin/sh, -c, "${value}"] for shell syntax`
      : `write a list: [${value}]`;
  }
  if (expected === "object" && typeof value !== "object") {
    const keys = allowedKeysAt(path);
    return keys.length ? `a mapping with the keys ${keys.join(", ")}` : undefined;
  }
  return undefined;
}

/** A required key that is missing because a key beside it is its misspelling (imags: for images:). */
function misspelt(data: unknown, path: Path): boolean {
  const parent = valueAt(data, path.slice(0, -1));
  if (parent === null || typeof parent !== "object" || Array.isArray(parent)) return false;
  const allowed = allowedKeysAt(path.slice(0, -1));
  return Object.keys(parent).some((k) => !allowed.includes(k) && closest(k, allowed) === path.at(-1));
}

/** A key under images: that is an image's field, not an image: indented one level too little. */
function imageField(path: Path): string | undefined {
  if (path.length !== 2 || path[0] !== "images") return undefined;
  const key = String(path[1]);
  return allowedKeysAt(["images", key]).includes(key) ? key : undefined;
}

export function zodIssuesToDiagnostics(issues: readonly z.core.$ZodIssue[], data: unknown, map: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path as (string | number)[];
    const value = valueAt(data, path);
    const field = path.length > 0 ? path.join(".") : "spec";
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) {
          const allowed = allowedKeysAt(path);
          out.push(
            diag("unknown-key", map.keyAt([...path, key]), `unknown key "${key}"${path.length ? ` in ${field}` : ""}`, {
              hint: key === "<<" ? MERGE_HINT : (didYouMean(key, allowed) ?? (allowed.length ? `allowed: ${allowed.join(", ")}` : undefined)),
              path: [...path, key],
            }),
          );
        }
        break;
      case "invalid_type": {
        if (path.at(-1) === "<<") {
          out.push(diag("unknown-key", map.keyAt(path), `${path.slice(0, -1).join(".")}: YAML merge keys (<<) are not read`, { hint: MERGE_HINT, path }));
        } else if (value === undefined) {
          // contxt: for context: one mistake, said once, as the unknown key with its "did you mean"
          if (!misspelt(data, path)) out.push(missingKey(map, path));
        } else if (issue.expected === "string" && value !== null && typeof value === "object" && path.some((s) => TEMPLATE_PARENTS.has(String(s)))) {
          out.push(
            diag("template-not-string", map.valueAt(path), `${field}: a template must be a string, not ${describe(value)}`, {
              hint: 'quote templates in YAML: "{{version}}" (unquoted {{…}} is a YAML mapping)',
              path,
            }),
          );
        } else {
          const scalar = issue.expected === "string" ? unquoted(value) : undefined;
          const misplaced = imageField(path);
          // images: { api: (nothing), context: app }: api's keys were not indented under it
          const empty = value === null && path.length === 2 && path[0] === "images";
          out.push(
            diag("invalid-type", map.valueAt(path), `${field}: expected ${expectedOf(issue.expected)}, got ${scalar?.got ?? shown(value)}`, {
              hint: misplaced
                ? `${misplaced} is read as an image here: it is a key of an image, so indent it under the image it belongs to`
                : empty
                  ? `image ${String(path[1])} has nothing under it: indent its keys (context: …) below it`
                  : (scalar?.hint ?? typeHint(issue.expected, value, path)),
              path,
            }),
          );
        }
        break;
      }
      case "too_small": {
        const at = issue.origin === "array" ? `list at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? "" : "s"}` : issue.message;
        out.push(diag("invalid-value", map.valueAt(path), `${field}: ${at}`, { path }));
        break;
      }
      case "invalid_union": {
        const last = String(path[path.length - 1]);
        const scalar = unquoted(value);
        const signing = path[0] === "sign" && (last === "key" || last === "publicKey");
        // one shape the value has (a mapping with env:), wrong inside: said there ({ env: 5 }: env, a number)
        const inside = issue.errors.filter((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0));
        if (inside.length === 1) {
          out.push(...zodIssuesToDiagnostics(inside[0]!.map((e) => ({ ...e, path: [...path, ...e.path] })) as z.core.$ZodIssue[], data, map));
        } else if ((last === "username" || last === "password" || signing) && typeof value !== "object") {
          const name = signing ? "COSIGN_KEY" : last === "password" ? (path[0] === "sign" ? "COSIGN_PASSWORD" : "REGISTRY_TOKEN") : "REGISTRY_USER";
          out.push(
            diag("credential-literal", map.valueAt(path), `${field}: credentials are references, never literal values`, {
              hint: `write ${last}: ${last === "key" || last === "publicKey" ? `{ file: cosign.${last === "key" ? "key" : "pub"} } or ` : ""}{ env: ${name} } and set the variable where apply runs`,
              path,
            }),
          );
        } else if (path.some((s) => s === "tags") && value !== null && typeof value === "object" && !Array.isArray(value) && !("each" in value)) {
          // an unquoted {{version}} in a tag list reads as a mapping
          out.push(
            diag("template-not-string", map.valueAt(path), `${field}: a tag is a string (a template) or { each: LIST_VARIABLE }, not ${describe(value)}`, {
              hint: 'quote templates in YAML: "{{version}}" (unquoted {{…}} is a YAML mapping)',
              path,
            }),
          );
        } else if (path.some((s) => s === "tags") && scalar) {
          // tags: [1.0] is the number 1
          out.push(
            diag("invalid-type", map.valueAt(path), `${field}: a tag is a string (a template) or { each: LIST_VARIABLE }, not ${scalar.got}`, {
              hint: scalar.hint,
              path,
            }),
          );
        } else if (path[0] === "variables") {
          out.push(
            diag("invalid-type", map.valueAt(path), `${field}: a variable is a string, { env: NAME, default: VALUE, split: SEP }, or { map: { KEY: VALUE } }`, {
              path,
            }),
          );
        } else {
          // each shape the value may have, as the options' own first complaints say it
          const shapes = [
            ...new Set(
              issue.errors.flatMap((errs) =>
                errs
                  .filter((e) => e.path.length === 0)
                  .flatMap((e) =>
                    e.code === "invalid_type" ? [expectedOf(e.expected)] : e.code === "invalid_value" ? e.values.map((v) => JSON.stringify(v)) : [],
                  ),
              ),
            ),
          ];
          const expected = shapes.length ? `expected ${shapes.slice(0, -1).join(", ")}${shapes.length > 1 ? " or " : ""}${shapes.at(-1)}` : issue.message;
          const allows = (b: boolean) => shapes.includes("true or false") || shapes.includes(String(b));
          out.push(diag("invalid-type", map.valueAt(path), `${field}: ${expected}, got ${shown(value)}`, { hint: yamlWord(value, allows), path }));
        }
        break;
      }
      case "invalid_value": {
        const options = issue.values.map(String);
        if (value === undefined) {
          const key = String(path.at(-1));
          const hint =
            options.length === 1
              ? `add ${key}: ${options[0]}${path.length === 1 ? " at the top of the file" : ""}`
              : `add ${key}: one of ${options.join(", ")}`;
          out.push(missingKey(map, path, hint));
          break;
        }
        const said =
          options.length === 1 ? `must be ${options[0]}, not ${JSON.stringify(value)}` : `expected one of ${options.join(", ")}, got ${JSON.stringify(value)}`;
        out.push(
          diag("invalid-value", map.valueAt(path), `${field}: ${said}`, {
            // version: "1" is the string "1", not the number
            hint:
              typeof value === "string"
                ? options.includes(value)
                  ? `write ${value} unquoted: quoted, YAML reads it as a string`
                  : didYouMean(value, options)
                : undefined,
            path,
          }),
        );
        break;
      }
      default:
        out.push(diag("invalid-value", map.valueAt(path), `${field}: ${issue.message}`, { path }));
    }
  }
  return out;
}
