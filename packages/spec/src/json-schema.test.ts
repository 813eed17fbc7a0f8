import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { specJsonSchema } from "./json-schema.ts";

const FILE = resolve(import.meta.dirname, "../../../schemas/multiarch.schema.json");
const EXAMPLES = ["quickstart", "monorepo", "fallback", "oci", "sharded", "monorepo-turbo"].map((e) =>
  resolve(import.meta.dirname, `../../../examples/${e}/multiarch.yaml`),
);
const generated = `${JSON.stringify(specJsonSchema(), null, 2)}\n`;

describe("schemas/multiarch.schema.json", () => {
  test("is generated from the zod schema and up to date (pnpm schema rewrites it)", () => {
    if (process.env.MULTIARCH_UPDATE_SCHEMA) writeFileSync(FILE, generated);
    expect(readFileSync(FILE, "utf8")).toBe(generated);
  });

  test("describes every field", () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node === null || typeof node !== "object") return;
      const n = node as Record<string, unknown>;
      if (n.properties) {
        for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
          const described = v.description ?? (v.anyOf as Record<string, unknown>[] | undefined)?.find((o) => o.description)?.description;
          if (!described) undocumented.push(`${path}.${k}`);
          walk(v, `${path}.${k}`);
        }
      }
      for (const key of ["additionalProperties", "items"]) walk(n[key], `${path}.${key === "items" ? "[]" : "*"}`);
      for (const alt of (n.anyOf as unknown[] | undefined) ?? []) walk(alt, path);
    };
    walk(JSON.parse(generated), "");
    expect(undocumented).toEqual([]);
  });

  test.each(EXAMPLES)("%s validates against it", (file) => {
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(generated));
    const ok = validate(parse(readFileSync(file, "utf8")));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });
});
