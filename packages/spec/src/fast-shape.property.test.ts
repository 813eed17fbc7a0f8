// Generated differential test: values drawn from the spec's JSON Schema, mostly of the right shape and
// now and then wrong (a wrong type, an unknown or missing key, a bad number), so that the fast shape
// check must either return exactly what zod's parse returns (keys in the same order) or hand over.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import schema from "../../../schemas/multiarch.schema.json" with { type: "json" };
import { fastShape } from "./fast-shape.ts";
import { specInputSchema } from "./schema.ts";

type Node = Record<string, unknown>;
const JUNK = [null, 0, -1, 1.5, Number.POSITIVE_INFINITY, Number.NaN, 2 ** 60, "", "x", "linux/amd64", true, false, [], {}, ["a"], { a: "b" }];
const WORDS = ["a", "b", "env", "file", "version", "images", "x_y", "1"];

const pick = <T>(...xs: T[]) => fc.noBias(fc.nat(xs.length - 1)).map((i) => xs[i]!);

/** A value the node describes (mostly), or something else. */
function arb(node: Node, depth = 0): fc.Arbitrary<unknown> {
  // unbiased rolls: fast-check's small-value bias would pick the rare branch most of the time
  return fc.tuple(fc.noBias(fc.nat(299)), fc.noBias(fc.nat(JUNK.length - 1)), conforming(node, depth)).map(([roll, j, good]) => (roll === 0 ? JUNK[j] : good));
}

function conforming(node: Node, depth: number): fc.Arbitrary<unknown> {
  if (node.anyOf) return fc.oneof(...(node.anyOf as Node[]).map((n) => arb(n, depth + 1)));
  if ("const" in node) return fc.constant(node.const);
  if (node.enum) return pick(...(node.enum as unknown[]));
  switch (node.type) {
    case "string":
      if (node.pattern) return pick("id", "a.b-c", "id2");
      return node.minLength ? pick("x", "{{version}}", "linux/arm64", "ü") : pick("", "x", "{{version}}", "linux/arm64", "ü");
    case "boolean":
      return fc.boolean();
    case "integer":
    case "number":
      return pick(1, 3, 8);
    case "array":
      return fc.array(arb(node.items as Node, depth + 1), { minLength: (node.minItems as number | undefined) ?? 0, maxLength: depth > 3 ? 1 : 3 });
    case "object": {
      if (node.properties) {
        const props = node.properties as Record<string, Node>;
        const required = new Set((node.required as string[]) ?? []);
        // keys in a random order, now and then a required one missing or an unknown one added
        const rare = fc.noBias(fc.nat(199)).map((n) => n === 0);
        return fc
          .tuple(
            fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, arb(v, depth + 1)])), { requiredKeys: [...required] }),
            rare,
            rare,
            fc.constantFrom(...WORDS),
            fc.boolean(),
          )
          .map(([r, dropRequired, addUnknown, word, reverse]) => {
            const o: Record<string, unknown> = { ...r };
            if (dropRequired) delete o[[...required][0] ?? ""];
            if (addUnknown) o[word] = "x";
            return reverse ? Object.fromEntries(Object.entries(o).reverse()) : o;
          });
      }
      return fc.dictionary(fc.constantFrom(...WORDS), arb(node.additionalProperties as Node, depth + 1), { maxKeys: depth > 3 ? 1 : 3 });
    }
    default:
      return fc.anything();
  }
}

const specs = arb(schema as Node);

describe("fast shape check", () => {
  test("returns what zod returns, keys in the same order, or hands over", () => {
    let fast = 0;
    fc.assert(
      fc.property(specs, (data) => {
        const got = fastShape(data);
        if (!got) return;
        fast++;
        const z = specInputSchema().safeParse(data);
        expect(z.success).toBe(true);
        expect(got.value).toStrictEqual(z.data);
        expect(JSON.stringify(got.value)).toBe(JSON.stringify(z.data));
      }),
      { numRuns: 1000, seed: 20261129 },
    );
    expect(fast).toBeGreaterThan(50); // the generator reaches the fast path, not only its hand-overs
  });

  test("reads every example and valid fixture itself; hands every shape error to zod", () => {
    const root = resolve(import.meta.dirname, "../../..");
    const examples = readdirSync(resolve(root, "examples")).map((e) => resolve(root, "examples", e, "multiarch.yaml"));
    const fixtures = readdirSync(resolve(import.meta.dirname, "../fixtures/invalid")).map((f) => resolve(import.meta.dirname, "../fixtures/invalid", f));
    let read = 0;
    for (const file of [...examples, ...fixtures]) {
      let data: unknown;
      try {
        data = parse(readFileSync(file, "utf8"));
      } catch {
        continue; // not YAML at all
      }
      const z = specInputSchema().safeParse(data);
      const got = fastShape(data);
      if (z.success) {
        expect(got?.value, file).toStrictEqual(z.data);
        read++;
      } else expect(got, file).toBeUndefined();
    }
    expect(read).toBeGreaterThanOrEqual(examples.length);
  });
});
