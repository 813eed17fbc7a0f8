// The fast path must read every spec exactly as the `yaml` library does, or step aside.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { fastParse } from "./fast-yaml.ts";
import { parseYaml, yamlTables } from "./source-map.ts";

const pos = (offset: number) => ({ file: "x", line: 0, col: offset });
const ROOT = resolve(import.meta.dirname, "../../..");
const files = [
  ...["quickstart", "monorepo", "fallback", "oci", "sharded", "monorepo-turbo"].map((e) => join(ROOT, "examples", e, "multiarch.yaml")),
  ...readdirSync(join(ROOT, "packages/spec/fixtures/invalid"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(ROOT, "packages/spec/fixtures/invalid", f)),
];

function agree(text: string): "fast" | "fallback" {
  const fast = fastParse(text);
  const ref = yamlTables(text, pos);
  if (!fast) return "fallback";
  expect(ref.ok, "the fast path accepted text the library rejects").toBe(true);
  if (ref.ok) {
    expect(fast.data).toEqual(ref.data);
    expect(Object.fromEntries(fast.keys)).toEqual(Object.fromEntries(ref.keys));
    expect(Object.fromEntries(fast.values)).toEqual(Object.fromEntries(ref.values));
  }
  return "fast";
}

describe("fast YAML path", () => {
  test.each(files.map((f) => [f.slice(ROOT.length + 1), f]))("%s", (_name, file) => {
    agree(readFileSync(file, "utf8"));
  });

  test("the examples take the fast path", () => {
    for (const e of ["quickstart", "monorepo", "fallback", "oci", "sharded", "monorepo-turbo"])
      expect(agree(readFileSync(join(ROOT, "examples", e, "multiarch.yaml"), "utf8"))).toBe("fast");
  });

  test.each([
    [
      "fast",
      "scalars by the core schema",
      "a: 1\nb: 1.5\nc: true\nd: ~\ne: 0x1F\nf: 0o17\ng: 1e3\nh: -2\ni: +3\nj: .5\nk: 1.0.0\nl: 'it''s'\nm: \"q\"\nn: yes\no: No\np: 12abc\n",
    ],
    ["fast", "sequence at the parent key's indent", "a:\n- x\n- y\nb: z\n"],
    ["fast", "compact mappings in sequences", "s:\n  - id: npm\n    env: NPM\n  - id: x\n    file: f # c\nt: 1\n"],
    ["fast", "nested flow", 'a: { run: [/bin/sh, -c, "uname -m"], n: {} }\nb: [[1, 2], [], {k: v}]\n'],
    ["fast", "comments everywhere", "# top\na: b # trailing\n\n  # indented comment\nc:\n  # inside\n  d: e#not-a-comment\n"],
    ["fast", "urls and colons in plain scalars", "u: https://example.com/x:y\nr: 127.0.0.1:5000/acme\n"],
    ["fallback", "keys that are not strings", "1.0: x\n"],
    ["fallback", "anchors and aliases", "a: &x 1\nb: *x\n"],
    ["fallback", "block scalars", "a: |\n  text\n"],
    ["fallback", "multi-line plain scalar", "a: one\n  two\n"],
    ["fallback", "escapes in double quotes", 'a: "x\\ty"\n'],
    ["fallback", "empty value", "a:\nb: 1\n"],
    ["fallback", "tags", "a: !!str 1\n"],
    ["fallback", "trailing comma in flow", "a: [1, 2,]\n"],
    ["fallback", "duplicate keys", "a: 1\na: 2\n"],
    ["fallback", "windows line ends", "a: 1\r\nb: 2\r\n"],
    ["fallback", "deep flow nesting", `a: ${"[".repeat(100)}${"]".repeat(100)}\n`],
  ])("%s: %s", (path, _name, text) => {
    expect(agree(text)).toBe(path);
  });

  test("a generated 1,000-image spec takes the fast path", () => {
    const lines = ["version: 1", "images:"];
    for (let i = 0; i < 1000; i++)
      lines.push(`  svc-${i}:`, `    context: services/svc-${i}`, `    args: { SERVICE: svc-${i}, V: "{{version}}" }`, "    tags: [latest, '1.0']");
    expect(agree(`${lines.join("\n")}\n`)).toBe("fast");
  });
});

// found by a review: after a UTF-8 byte order mark every column of line 1 was one too many
test("a byte order mark takes no column", () => {
  const withBom = parseYaml("\uFEFFversion: 1\nimages: {}\n", "x.yaml");
  const without = parseYaml("version: 1\nimages: {}\n", "x.yaml");
  if (!withBom.ok || !without.ok) throw new Error("not parsed");
  for (const path of [["version"], ["images"]]) {
    expect(withBom.map.keyAt(path)).toEqual(without.map.keyAt(path));
    expect(withBom.map.valueAt(path)).toEqual(without.map.valueAt(path));
  }
  expect(withBom.map.keyAt(["version"])).toMatchObject({ line: 1, col: 1 });
});

// found by a review: a file whose lines end in CR alone gave YAML errors without a word on why
test("lines ending in a carriage return alone: the errors say so", () => {
  const r = parseYaml("version: 1\rimages:\r  app: { context: . }\r", "x.yaml");
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.errors[0]!.hint).toContain("carriage return alone");
});
